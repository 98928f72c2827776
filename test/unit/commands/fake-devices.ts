import type { CommandTarget } from '../../../src/commands/router.js';
import type { CommandResult, DeviceCommand, DeviceId, DeviceInfo } from '../../../src/model.js';

type Execute = (cmd: DeviceCommand, signal: AbortSignal) => Promise<CommandResult>;

/**
 * An adapter's device table as the command router sees it: devices that can be announced, put to sleep,
 * woken up, and that record every command they execute. `respond` decides what an execution does.
 */
export class FakeDevices implements CommandTarget {
  readonly executed: DeviceCommand[] = [];
  /** Executions started and not yet answered, by device: the FIFO rule says never more than one. */
  readonly running = new Map<DeviceId, number>();
  maxRunningPerDevice = 0;
  respond: Execute = (cmd) => Promise.resolve({ id: cmd.id, status: 'ok' });
  readonly #devices = new Map<DeviceId, { info: DeviceInfo; isReachable: boolean }>();

  add(id: DeviceId, options: { isReachable?: boolean } = {}): void {
    const info: DeviceInfo = {
      id,
      adapter: 'sim',
      capabilities: {
        values: ['state'],
        commands: [
          { name: 'toggle' },
          { name: 'set', args: { level: { type: 'number', min: 0, max: 100 } } },
        ],
      },
      availability: 'online',
      lastSeen: 0,
      power: 'battery',
    };
    this.#devices.set(id, { info, isReachable: options.isReachable ?? true });
  }

  setReachable(id: DeviceId, isReachable: boolean): void {
    const device = this.#devices.get(id);
    if (device !== undefined) device.isReachable = isReachable;
  }

  readonly lookup = (id: DeviceId): { info: DeviceInfo; target: CommandTarget } | undefined => {
    const device = this.#devices.get(id);
    return device === undefined ? undefined : { info: device.info, target: this };
  };

  isReachable(id: DeviceId): boolean {
    return this.#devices.get(id)?.isReachable ?? false;
  }

  async execute(cmd: DeviceCommand, signal: AbortSignal): Promise<CommandResult> {
    this.executed.push(cmd);
    const running = (this.running.get(cmd.device) ?? 0) + 1;
    this.running.set(cmd.device, running);
    this.maxRunningPerDevice = Math.max(this.maxRunningPerDevice, running);
    try {
      return await this.respond(cmd, signal);
    } finally {
      this.running.set(cmd.device, (this.running.get(cmd.device) ?? 1) - 1);
    }
  }

  executedIds(device?: DeviceId): string[] {
    return this.executed.filter((c) => device === undefined || c.device === device).map((c) => c.id);
  }
}

/** A promise with its resolve exposed, to hold an execution or a publish until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Poll until `condition` holds; generous because the test machine is slow and shared. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
