import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type {
  CommandOrigin,
  CommandResult,
  CommandStatus,
  DeviceCommand,
  DeviceId,
  DeviceInfo,
} from '../model.js';
import type { IncomingCommand } from '../upstream/upstream.js';
import type { CommandStore, StoredCommand } from './command-store.js';
import { DeviceQueues, type Pending } from './device-queues.js';
import { executeCommand, type CommandTarget } from './execute.js';
import { ExpiryTimer } from './expiry-timer.js';
import { RecentResults } from './recent-results.js';
import { addressOf, expired, failed, rejected, type ResultAddress } from './results.js';
import { validateCommand } from './validate.js';

export type { CommandTarget } from './execute.js';
export type { ResultAddress } from './results.js';

export interface CommandRouterOptions {
  store: CommandStore;
  /** Resolve a device to its info and the adapter that owns it; undefined when unknown. */
  lookup: (id: DeviceId) => { info: DeviceInfo; target: CommandTarget } | undefined;
  /**
   * Send the one result of a command back where it came from (its route/origin). Retrying is the
   * upstream's business: a rejection is logged and the command is considered answered.
   */
  publishResult: (cmd: ResultAddress, result: CommandResult) => Promise<void>;
  config: { defaultTtlMs: number; maxPerDevice: number; maxArgsBytes: number };
  log: Logger;
  /** The gateway clock (epoch ms). */
  now?: () => number;
  /** How many finished command ids are remembered to ignore redeliveries; default 1024. */
  recentCapacity?: number;
}

/**
 * The command lifecycle (docs/architecture.md#commands): received → validated → queued per device (persisted)
 * → delivered
 * when the device is reachable → exactly one result, handed to `publishResult`.
 *
 * Commands for one device run strictly one after another in arrival order; different devices run
 * concurrently. A command leaves the store only after its result was handed to `publishResult`, so a crash
 * between `execute` and that hand-over runs the command again after restart: execution is at-least-once
 * across crashes, the result exactly-once per process lifetime. Redelivered command ids (clouds deliver
 * at-least-once) are ignored while pending and for the `recentCapacity` most recent finished ones.
 *
 * Call `start` once before `submit`; `stop` once at the end. Only `start` can reject (the store cannot be
 * read); everything else turns failures into results and WARN logs.
 */
export class CommandRouter {
  readonly #options: CommandRouterOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #queues = new DeviceQueues();
  readonly #recent: RecentResults;
  readonly #expiry: ExpiryTimer;
  /** Devices with a delivery loop running; at most one per device is what makes the FIFO strict. */
  readonly #draining = new Set<DeviceId>();
  /** Delivery loops and result hand-overs in progress, awaited by `stop`. */
  readonly #tasks = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  #starting: Promise<void> | undefined;
  #nextSeq = 1;
  #received = 0;
  readonly #byStatus: Record<CommandStatus, number> = {
    ok: 0,
    failed: 0,
    expired: 0,
    rejected: 0,
    unsupported: 0,
  };

  constructor(options: CommandRouterOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#recent = new RecentResults(options.recentCapacity ?? 1024);
    this.#expiry = new ExpiryTimer(() => void Promise.all(this.#expireDue()), this.#now);
  }

  /**
   * Load persisted pending commands; expire those already past expiresAt (result `expired`). Calling it
   * again returns the first call's promise. A `stop()` before the store finished loading wins: nothing is
   * queued, run or answered, and the stored commands stay for the next start.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    const stored = (await this.#options.store.load()).sort((a, b) => a.seq - b.seq);
    // `stop()` came while the store was loading and has returned: nothing may queue, run or answer now.
    if (this.#stopping.signal.aborted) return;
    this.#state = 'running';
    for (const entry of stored) {
      this.#nextSeq = Math.max(this.#nextSeq, entry.seq + 1);
      this.#enqueue(entry, Promise.resolve(true));
    }
    await Promise.all(this.#expireDue());
    this.#log.info({ pending: this.#queues.size }, 'Command router started.');
    // Devices already announced and awake get their held commands now; the others on `deviceAwake`.
    for (const device of this.#queues.devices()) this.#kick(device);
  }

  /**
   * Accept a command from an upstream or the CLI. Resolves with the command's final result (callers such
   * as `fieldgate send --wait` may await it; upstream callers don't). A redelivered id resolves with the
   * first delivery's result and causes no second execution or result. Never throws.
   */
  submit(incoming: IncomingCommand, from: { route?: string; origin: CommandOrigin }): Promise<CommandResult> {
    this.#received += 1;
    const route = from.route === undefined ? {} : { route: from.route };
    if (incoming.kind === 'invalid') {
      const address = { id: incoming.id, device: incoming.device ?? '', origin: from.origin, ...route };
      return this.#duplicateOf(incoming.id) ?? this.#answer(address, rejected(incoming.id, incoming.reason));
    }
    const command: DeviceCommand = { ...incoming.command, origin: from.origin, ...route };
    const duplicate = this.#duplicateOf(command.id);
    if (duplicate !== undefined) return duplicate;

    const refusal = this.#refusal(command);
    if (refusal !== undefined) return this.#answer(command, refusal);

    const now = this.#now();
    const expiresAt = command.expiresAt ?? now + this.#options.config.defaultTtlMs;
    if (expiresAt <= now) {
      return this.#answer(command, expired(command.id, 'expired before it reached the gateway'));
    }
    const stored: StoredCommand = {
      seq: this.#nextSeq++,
      command: { ...command, expiresAt, receivedAt: now },
    };
    const pending = this.#enqueue(stored, this.#persist(stored));
    this.#log.debug({ commandId: command.id, device: command.device, name: command.name }, 'Command queued.');
    this.#kick(command.device);
    return pending.result;
  }

  /** A device woke up / became reachable / (re)appeared: deliver what is pending for it, in FIFO order. */
  deviceAwake(id: DeviceId): void {
    this.#kick(id);
  }

  /** The commands held or executing, in arrival order: for one device, or for all. */
  pending(id?: DeviceId): DeviceCommand[] {
    return this.#queues.commands(id);
  }

  /** Counts since start: commands received, final results by status, and commands pending now. */
  stats(): { received: number; byStatus: Record<CommandStatus, number>; pending: number } {
    return { received: this.#received, byStatus: { ...this.#byStatus }, pending: this.#queues.size };
  }

  /**
   * Stop timers and delivery. An execution in flight is aborted through its signal; unless the adapter
   * answered first, its command stays stored and runs again after restart. Submitters still waiting are
   * resolved with a `failed` result that is not published (the real one follows after restart).
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#expiry.stop();
    this.#stopping.abort();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    for (const pending of this.#queues.entries()) {
      pending.resolve({
        id: pending.stored.command.id,
        status: 'failed',
        detail: 'the gateway stopped before the command ran; it stays queued and runs after restart',
      });
    }
  }

  /** Why a new command cannot be queued, or undefined when it can. */
  #refusal(command: DeviceCommand): CommandResult | undefined {
    if (this.#state !== 'running') return rejected(command.id, 'the command router is not running');
    if (typeof command.id !== 'string' || command.id === '') return rejected('', 'command id is missing');
    const known = this.#options.lookup(command.device);
    if (known === undefined) return rejected(command.id, `unknown device ${command.device}`);
    const problem = validateCommand(command, known.info, this.#options.config);
    if (problem !== undefined) return rejected(command.id, problem);
    const { maxPerDevice } = this.#options.config;
    if (this.#queues.length(command.device) >= maxPerDevice) {
      return rejected(command.id, `too many pending commands for ${command.device} (limit ${maxPerDevice})`);
    }
    return undefined;
  }

  #duplicateOf(id: string): Promise<CommandResult> | undefined {
    const earlier = this.#queues.byId(id)?.result ?? promiseOf(this.#recent.get(id));
    if (earlier !== undefined) this.#log.debug({ commandId: id }, 'Ignored a redelivered command.');
    return earlier;
  }

  #enqueue(stored: StoredCommand, persisted: Promise<boolean>): Pending {
    const pending = this.#queues.add(stored, persisted);
    if (this.#state === 'running') this.#expiry.arm(stored.command.expiresAt);
    return pending;
  }

  #persist(stored: StoredCommand): Promise<boolean> {
    return this.#options.store.put(stored).then(
      () => true,
      (e: unknown) => {
        const { id, device } = stored.command;
        this.#log.warn(
          { err: e, commandId: id, device },
          'Could not store a command; it was answered as failed.',
        );
        const pending = this.#queues.byId(id);
        if (pending !== undefined)
          void this.#finish(pending, failed(id, `could not store the command: ${errorMessage(e)}`));
        return false;
      },
    );
  }

  /** Start the delivery loop of a device unless one is running. */
  #kick(device: DeviceId): void {
    if (this.#state !== 'running' || this.#draining.has(device)) return;
    // Marked before the loop starts: the loop unmarks synchronously when it ends, in the same turn as its
    // last look at the queue, so a command queued after that look always finds no loop and starts one.
    this.#draining.add(device);
    void this.#track(this.#drain(device));
  }

  async #drain(device: DeviceId): Promise<void> {
    try {
      for (;;) {
        const head = this.#queues.head(device);
        if (head === undefined || this.#state !== 'running') return;
        if (!(await head.persisted) || head.isDone || this.#state !== 'running') continue;
        const { command } = head.stored;
        if (command.expiresAt <= this.#now()) {
          await this.#finish(head, expired(command.id, 'expired while waiting for the device'));
          continue;
        }
        const target = this.#options.lookup(device)?.target;
        if (target === undefined || !target.isReachable(device)) return;
        await this.#execute(head, target);
      }
    } catch (e) {
      this.#log.error({ err: e, device }, 'Command delivery stopped on an unexpected error.');
    } finally {
      this.#draining.delete(device);
    }
  }

  async #execute(pending: Pending, target: CommandTarget): Promise<void> {
    const context = { stopping: this.#stopping.signal, now: this.#now, log: this.#log };
    pending.isExecuting = true;
    const result = await executeCommand(target, pending.stored.command, context).finally(() => {
      pending.isExecuting = false;
    });
    // Aborted by stop: no result yet, so the command stays stored and runs again after restart.
    if (result !== undefined) await this.#finish(pending, result);
  }

  /** Answer every held command past its TTL as `expired`; arm the timer for the next one. */
  #expireDue(): Promise<void>[] {
    this.#expiry.reset();
    const now = this.#now();
    const finishing: Promise<void>[] = [];
    let nextAt = Infinity;
    for (const pending of this.#queues.entries()) {
      // An executing command's own AbortSignal enforces its deadline.
      if (pending.isExecuting) continue;
      const { id, expiresAt } = pending.stored.command;
      if (expiresAt <= now)
        finishing.push(this.#finish(pending, expired(id, 'expired while waiting for the device')));
      else nextAt = Math.min(nextAt, expiresAt);
    }
    if (nextAt < Infinity) this.#expiry.arm(nextAt);
    return finishing;
  }

  /** The one result of a queued command: publish it, then drop it from the store, then resolve submit. */
  #finish(pending: Pending, result: CommandResult): Promise<void> {
    if (pending.isDone) return Promise.resolve();
    pending.isDone = true;
    const { command, seq } = pending.stored;
    this.#queues.remove(pending);
    this.#record(command, result);
    return this.#track(
      (async () => {
        await this.#publish(addressOf(command), result);
        // Deleting waits for the put: LevelDB may reorder concurrent operations on one key.
        if (await pending.persisted) {
          await this.#options.store.delete(command.device, seq).catch((e: unknown) => {
            this.#log.warn(
              { err: e, commandId: command.id },
              'Could not remove an answered command from the store.',
            );
          });
        }
        pending.resolve(result);
      })(),
    );
  }

  /** The one result of a command that was never queued. */
  async #answer(command: ResultAddress, result: CommandResult): Promise<CommandResult> {
    const address = addressOf(command);
    this.#record(address, result);
    await this.#track(this.#publish(address, result));
    return result;
  }

  #record(address: ResultAddress, result: CommandResult): void {
    this.#byStatus[result.status] += 1;
    if (result.id !== '') this.#recent.set(result.id, result);
    this.#log.debug(
      { commandId: address.id, device: address.device, status: result.status, detail: result.detail },
      'Command finished.',
    );
  }

  async #publish(address: ResultAddress, result: CommandResult): Promise<void> {
    try {
      await this.#options.publishResult(address, result);
    } catch (e) {
      this.#log.warn(
        { err: e, commandId: address.id, route: address.route },
        'Could not publish a command result.',
      );
    }
  }

  #track(task: Promise<void>): Promise<void> {
    this.#tasks.add(task);
    const forget = (): void => void this.#tasks.delete(task);
    task.then(forget, forget);
    return task;
  }
}

function promiseOf(result: CommandResult | undefined): Promise<CommandResult> | undefined {
  return result === undefined ? undefined : Promise.resolve(result);
}
