import type { CommandResult, DeviceCommand, DeviceId } from '../model.js';
import type { StoredCommand } from './command-store.js';
import { scopedId } from './results.js';

/** A held or executing command and the promise its submitter awaits. */
export interface Pending {
  readonly stored: StoredCommand;
  /** Resolves true once the command is in the store, false when storing it failed (it is then answered). */
  readonly persisted: Promise<boolean>;
  isExecuting: boolean;
  isDone: boolean;
  readonly result: Promise<CommandResult>;
  readonly resolve: (result: CommandResult) => void;
}

/**
 * The router's in-memory view of the pending commands: one FIFO per device (the head is the one executing
 * or next to), indexed by scoped command id (route + id, see `scopedId`) as well. Empty FIFOs are removed, so `devices()` lists only devices
 * with something to deliver. Not persisted; the router keeps the `CommandStore` in step.
 */
export class DeviceQueues {
  readonly #queues = new Map<DeviceId, Pending[]>();
  readonly #byKey = new Map<string, Pending>();

  /** Append a command to its device's FIFO; the returned entry's `result` resolves via `resolve`. */
  add(stored: StoredCommand, persisted: Promise<boolean>): Pending {
    let resolve: (result: CommandResult) => void = () => undefined;
    const result = new Promise<CommandResult>((r) => (resolve = r));
    const pending: Pending = { stored, persisted, isExecuting: false, isDone: false, result, resolve };
    const { device } = stored.command;
    const queue = this.#queues.get(device) ?? [];
    queue.push(pending);
    this.#queues.set(device, queue);
    this.#byKey.set(scopedId(stored.command), pending);
    return pending;
  }

  /** Take an entry out of its FIFO and the index; a no-op for one already removed. */
  remove(pending: Pending): void {
    const { device } = pending.stored.command;
    const key = scopedId(pending.stored.command);
    const queue = this.#queues.get(device) ?? [];
    const index = queue.indexOf(pending);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(device);
    if (this.#byKey.get(key) === pending) this.#byKey.delete(key);
  }

  head(device: DeviceId): Pending | undefined {
    return this.#queues.get(device)?.[0];
  }

  /** The pending entry of a command by its `scopedId`. */
  byKey(key: string): Pending | undefined {
    return this.#byKey.get(key);
  }

  /** How many commands one device has pending. */
  length(device: DeviceId): number {
    return this.#queues.get(device)?.length ?? 0;
  }

  /** How many commands are pending over all devices. */
  get size(): number {
    return this.#byKey.size;
  }

  /** A snapshot of the devices with pending commands. */
  devices(): DeviceId[] {
    return [...this.#queues.keys()];
  }

  /** A snapshot of every entry, device by device, each device's in FIFO order. */
  entries(): Pending[] {
    return [...this.#queues.values()].flat();
  }

  /** Copies of the pending commands in arrival order: for one device, or for all. */
  commands(device?: DeviceId): DeviceCommand[] {
    const entries = device === undefined ? [...this.#byKey.values()] : [...(this.#queues.get(device) ?? [])];
    return entries.sort((a, b) => a.stored.seq - b.stored.seq).map((p) => structuredClone(p.stored.command));
  }
}
