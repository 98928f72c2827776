import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CommandOrigin, CommandResult, DeviceCommand, DeviceId, DeviceInfo } from '../model.js';
import { CommandCounters, type CommandStats } from './command-stats.js';
import type { IncomingCommand } from './incoming.js';
import type { CommandStore, StoredCommand } from './command-store.js';
import { DeviceQueues, type Pending } from './device-queues.js';
import { executeCommand, type CommandTarget } from './execute.js';
import { ExpiryTimer } from './expiry-timer.js';
import {
  answerLeftovers,
  leftoverResult,
  readyOrAborted,
  selectHeld,
  type HeldLimits,
} from './held-loader.js';
import { selectPending, toHeld, type HeldCommand, type HeldFilter } from './held-view.js';
import { RecentResults } from './recent-results.js';
import { addressOf, expired, failed, rejected, scopedId, shownId, type ResultAddress } from './results.js';
import { idProblem, validateCommand } from './validate.js';

export type { CommandTarget } from './execute.js';
export type { ResultAddress } from './results.js';
export type { HeldCommand, HeldFilter } from './held-view.js';

export type { CommandStats, Refusal } from './command-stats.js';

export interface CommandRouterOptions {
  store: CommandStore;
  /** Resolve a device to its info and the adapter that owns it; undefined when unknown. */
  lookup: (id: DeviceId) => { info: DeviceInfo; target: CommandTarget } | undefined;
  /**
   * Send the one result of a command back where it came from (its route/origin). Retrying is the
   * upstream's business: a rejection is logged and the command is considered answered.
   */
  publishResult: (cmd: ResultAddress, result: CommandResult) => Promise<void>;
  config: HeldLimits & { defaultTtlMs: number };
  /**
   * Whether a route's upstream is connected now. Results of commands found in the store at start are
   * published only once their route is connected (the connectors keep few results while offline); absent:
   * always connected.
   */
  isRouteConnected?: (route: string) => boolean;
  log: Logger;
  /** The gateway clock (epoch ms). */
  now?: () => number;
  /** How many finished command ids are remembered to ignore redeliveries; default 1024. */
  recentCapacity?: number;
}

/**
 * The command lifecycle: received → validated → queued per device (persisted) → delivered when the device
 * is reachable → exactly one result, handed to `publishResult` (docs/architecture.md#commands, docs/commands.md).
 *
 * What is held is bounded: ids by `maxIdLength`, args by `maxArgsBytes`, commands by `maxPerDevice` and
 * `maxHeld`; beyond them a command is answered `rejected` at once and counted. A start reads the store one
 * entry at a time, holds what fits the bounds again, and answers the rest (oversized, expired, excess) in
 * the background, each once its route is connected; damaged entries are skipped and counted.
 *
 * Commands for one device run strictly one after another in arrival order; different devices run
 * concurrently. A command leaves the store only after its result was handed to `publishResult`, so a crash
 * between `execute` and that hand-over runs the command again after restart: execution is at-least-once
 * across crashes, the result exactly-once per process lifetime. Redelivered commands (clouds deliver
 * at-least-once) are recognised by their id within their route (`scopedId`) and ignored while pending and
 * for the `recentCapacity` most recent finished ones; the same id on another route is another command.
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
  readonly #counts = new CommandCounters();

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
    const { config } = this.#options;
    const loaded = await selectHeld(this.#options.store, config, this.#now());
    // `stop()` came while the store was loading and has returned: nothing may queue, run or answer now.
    if (this.#stopping.signal.aborted) return;
    this.#state = 'running';
    this.#nextSeq = loaded.maxSeq + 1;
    this.#counts.damaged = loaded.damaged;
    this.#counts.leftovers = loaded.leftovers;
    const heldSeqs = new Set<number>();
    for (const entry of loaded.held) {
      heldSeqs.add(entry.seq);
      this.#enqueue(entry, Promise.resolve(true));
    }
    if (loaded.firstDamage !== undefined) {
      this.#log.warn(
        { damaged: loaded.damaged, firstKey: loaded.firstDamage.key, reason: loaded.firstDamage.reason },
        'Skipped stored commands that cannot be read; they stay in the store and get no result.',
      );
    }
    if (loaded.leftovers > 0) {
      this.#log.warn(
        { leftovers: loaded.leftovers, held: loaded.held.length, ...pick(config) },
        'The store held commands over the limits or past their expiry; each is answered once its route is connected.',
      );
      void this.#track(this.#answerLeftovers(loaded.maxSeq, heldSeqs));
    }
    this.#log.info({ pending: this.#queues.size }, 'Command router started.');
    // Devices already announced and awake get their held commands now; the others on `deviceAwake`.
    for (const device of this.#queues.devices()) this.#kick(device);
  }

  async #answerLeftovers(maxSeq: number, heldSeqs: ReadonlySet<number>): Promise<void> {
    try {
      await answerLeftovers({
        store: this.#options.store,
        maxSeq,
        isHeld: (seq) => heldSeqs.has(seq),
        signal: this.#stopping.signal,
        answer: async (stored) => {
          const { command } = stored;
          if (command.route !== undefined && !(await this.#routeConnected(command.route))) return;
          const result = leftoverResult(stored, this.#options.config, this.#now());
          if (result.status === 'rejected') this.#counts.refused.overLimitsAtStart += 1;
          const address = { ...addressOf(command), id: result.id };
          this.#record(address, result, result.id === command.id);
          await this.#publish(address, result);
          await this.#options.store.delete(command.device, stored.seq);
          this.#counts.leftovers = Math.max(0, this.#counts.leftovers - 1);
        },
      });
    } catch (e) {
      this.#log.error(
        { err: e },
        'Could not answer the stored commands over the limits; they stay stored for the next start.',
      );
    }
  }

  /** Waits until the route is connected: true, or false when the router stops first. */
  #routeConnected(route: string): Promise<boolean> {
    const isConnected = this.#options.isRouteConnected;
    if (isConnected === undefined) return Promise.resolve(true);
    return readyOrAborted(() => isConnected(route), this.#stopping.signal, ROUTE_POLL_MS);
  }

  /**
   * Accept a command from an upstream or the CLI. Resolves with the command's final result (callers such
   * as `fieldgate send --wait` may await it; upstream callers don't). A redelivered id resolves with the
   * first delivery's result and causes no second execution or result. Never throws.
   */
  submit(incoming: IncomingCommand, from: { route?: string; origin: CommandOrigin }): Promise<CommandResult> {
    this.#counts.received += 1;
    const route = from.route === undefined ? {} : { route: from.route };
    const { maxIdLength } = this.#options.config;
    if (incoming.kind === 'invalid') {
      const id = shownId(incoming.id, maxIdLength);
      const address = { id, device: incoming.device ?? '', origin: from.origin, ...route };
      const isWhole = id === incoming.id;
      const duplicate = isWhole ? this.#duplicateOf(address) : undefined;
      return duplicate ?? this.#answer(address, rejected(id, incoming.reason), isWhole);
    }
    const command: DeviceCommand = { ...incoming.command, origin: from.origin, ...route };
    if (typeof command.id === 'string') {
      const problem = idProblem(command.id, this.#options.config);
      // Never looked up or remembered as a redelivery: two long ids may share the prefix the result shows.
      if (problem !== undefined) {
        this.#counts.refused.idTooLong += 1;
        const id = shownId(command.id, maxIdLength);
        return this.#answer({ ...addressOf(command), id }, rejected(id, problem), false);
      }
    }
    const duplicate = this.#duplicateOf(command);
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
    // One INFO per accepted command and one for its result: intake is rate limited per route before this,
    // and what is refused (invalid, duplicate, over the limit) is counted in `status`, not logged.
    this.#log.info(
      { commandId: command.id, device: command.device, name: command.name, origin: command.origin, ...route },
      'Command received.',
    );
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

  /** The held and executing commands a filter selects, in arrival order. */
  held(filter: HeldFilter = {}): HeldCommand[] {
    return selectPending(this.#queues.entries(), filter).map(toHeld);
  }

  /**
   * Remove the held commands a filter selects, each answered `rejected` ("purged by operator") on its
   * route, then deleted from the store. A command executing right now is left to finish (its adapter's
   * result is its one result) and counted in `executing`. Resolves once every purged result was handed to
   * `publishResult`.
   */
  async purge(filter: HeldFilter): Promise<{ purged: HeldCommand[]; executing: number }> {
    if (this.#state !== 'running') return { purged: [], executing: 0 };
    const selected = selectPending(this.#queues.entries(), filter);
    const purged = selected.filter((p) => !p.isExecuting);
    this.#counts.refused.purged += purged.length;
    const listed = purged.map(toHeld);
    await Promise.all(
      purged.map((p) => this.#finish(p, rejected(p.stored.command.id, 'purged by operator'))),
    );
    if (purged.length > 0) this.#log.info({ purged: purged.length }, 'Purged held commands.');
    return { purged: listed, executing: selected.length - purged.length };
  }

  /** Counts since start: commands received, results by status, refusals by reason, and commands pending now. */
  stats(): CommandStats {
    return this.#counts.stats(this.#queues.size);
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
    const { maxPerDevice, maxHeld } = this.#options.config;
    if (this.#queues.length(command.device) >= maxPerDevice) {
      this.#counts.refused.deviceFull += 1;
      return rejected(
        command.id,
        `too many pending commands for ${command.device} (commands.maxPerDevice is ${maxPerDevice})`,
      );
    }
    if (this.#queues.size >= maxHeld) {
      this.#counts.refused.gatewayFull += 1;
      return rejected(
        command.id,
        `the gateway holds ${this.#queues.size} commands for devices (commands.maxHeld); try again later`,
      );
    }
    return undefined;
  }

  #duplicateOf(address: Pick<ResultAddress, 'id' | 'route' | 'origin'>): Promise<CommandResult> | undefined {
    const key = scopedId(address);
    const earlier = this.#queues.byKey(key)?.result ?? promiseOf(this.#recent.get(key));
    if (earlier !== undefined) {
      this.#log.debug({ commandId: address.id, route: address.route }, 'Ignored a redelivered command.');
    }
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
        const pending = this.#queues.byKey(scopedId(stored.command));
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
    this.#log.info(
      { commandId: command.id, device: command.device, status: result.status, detail: result.detail },
      'Command finished.',
    );
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
  async #answer(command: ResultAddress, result: CommandResult, isRemembered = true): Promise<CommandResult> {
    const address = addressOf(command);
    this.#record(address, result, isRemembered);
    this.#log.debug(
      { commandId: address.id, device: address.device, status: result.status, detail: result.detail },
      'Command answered without running.',
    );
    await this.#track(this.#publish(address, result));
    return result;
  }

  /** Count a result; `isRemembered`: a redelivery of the command is answered with it (false: id cut short). */
  #record(address: ResultAddress, result: CommandResult, isRemembered = true): void {
    this.#counts.byStatus[result.status] += 1;
    if (isRemembered && result.id !== '') this.#recent.set(scopedId(address), result);
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

/** How often a result waiting for its route to connect looks again. */
const ROUTE_POLL_MS = 250;

function pick(config: HeldLimits): HeldLimits {
  const { maxPerDevice, maxHeld, maxIdLength, maxArgsBytes } = config;
  return { maxPerDevice, maxHeld, maxIdLength, maxArgsBytes };
}

function promiseOf(result: CommandResult | undefined): Promise<CommandResult> | undefined {
  return result === undefined ? undefined : Promise.resolve(result);
}
