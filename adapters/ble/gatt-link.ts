import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { Value } from '../../src/model.js';
import { Reopener } from '../reopen.js';
import type { ConnectionSlots } from './connection-slots.js';
import type { WritePlan } from './commands.js';
import { scaled } from './decoders/types.js';
import type { NobleCharacteristic, NoblePeripheral } from './noble-types.js';
import type { GattReadingOptions } from './options.js';
import { bounded } from './timeouts.js';
import { readValue } from './value-format.js';

export interface GattLinkOptions {
  readings: GattReadingOptions[];
  /** Every characteristic the device's commands write to, discovered together with the readings'. */
  commandTargets: { service: string; characteristic: string }[];
  slots: ConnectionSlots;
  connectTimeoutMs: number;
  reopen: { initialMs: number; maxMs: number };
  log: Logger;
  /** Values read or notified; the adapter turns them into a Reading. */
  onValues(values: Record<string, Value>, units: Record<string, string>): void;
  /** Connection state changed (for availability and reachability). */
  onConnectedChange(isConnected: boolean): void;
}

const key = (service: string, characteristic: string): string => `${service}/${characteristic}`;

/**
 * GATT access to one configured device. Connections are made on demand within the shared connection slots:
 * a device with `notify` readings stays connected (and is reconnected with backoff when the link drops);
 * one with only polled readings or commands is connected for each poll or write and then released.
 * Operations on one device run one at a time.
 */
export class GattLink {
  private peripheral: NoblePeripheral | undefined;
  private session: { chars: Map<string, NobleCharacteristic>; release: () => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Reconnects a persistent link with backoff. */
  private readonly reconnect: Reopener;
  private isClosed = false;
  private readonly isPersistent: boolean;

  constructor(private readonly options: GattLinkOptions) {
    this.isPersistent = options.readings.some((r) => r.mode === 'notify');
    this.reconnect = new Reopener(options.reopen, { unref: true });
  }

  get isConnected(): boolean {
    return this.session !== undefined;
  }

  /** Hand over the device's peripheral once scanning has found it; the first call starts polling. */
  attach(peripheral: NoblePeripheral): void {
    const isFirst = this.peripheral === undefined;
    this.peripheral = peripheral;
    if (!isFirst || this.isClosed) return;
    for (const reading of this.options.readings.filter((r) => r.mode === 'poll')) {
      this.every(reading.intervalMs, () => this.poll(reading));
    }
    if (this.isPersistent) this.keepConnected();
    this.poll(...this.options.readings.filter((r) => r.mode === 'poll'));
  }

  get hasPeripheral(): boolean {
    return this.peripheral !== undefined;
  }

  /**
   * Write a command's bytes. Rejects when the device cannot be reached in time or `signal` aborts; once
   * `signal` has aborted nothing is written.
   */
  async write(plan: WritePlan, signal: AbortSignal): Promise<void> {
    await this.exclusive(() =>
      this.withSession(signal, async (chars) => {
        const char = chars.get(key(plan.service, plan.characteristic));
        if (char === undefined)
          throw new Error(`characteristic ${plan.characteristic} not found on the device`);
        signal.throwIfAborted();
        await bounded(
          char.writeAsync(plan.data, !plan.withResponse),
          this.options.connectTimeoutMs,
          'GATT write',
        );
      }),
    );
  }

  /** Stop polling and reconnecting, and disconnect. */
  async close(): Promise<void> {
    this.isClosed = true;
    this.reconnect.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.disconnect();
  }

  private poll(...readings: GattReadingOptions[]): void {
    if (readings.length === 0) return;
    void this.exclusive(() =>
      this.withSession(undefined, async (chars) => {
        for (const reading of readings) {
          const char = chars.get(key(reading.service, reading.characteristic));
          if (char === undefined) continue;
          this.deliver(reading, await bounded(char.readAsync(), this.options.connectTimeoutMs, 'GATT read'));
        }
      }),
    ).catch((e: unknown) => {
      this.options.log.debug({ err: errorMessage(e) }, 'A GATT poll failed; the next interval retries.');
    });
  }

  private keepConnected(): void {
    void this.exclusive(() => this.open(undefined))
      .then(() => {
        this.reconnect.succeeded();
      })
      .catch((e: unknown) => {
        this.options.log.debug({ err: errorMessage(e) }, 'A GATT connection failed; retrying with backoff.');
        this.scheduleReconnect();
      });
  }

  private scheduleReconnect(): void {
    if (this.isClosed) return;
    this.reconnect.retry(() => this.keepConnected());
  }

  /** Runs `work` on a connected session, opening (and for non-persistent links, closing) it around. */
  private async withSession<T>(
    signal: AbortSignal | undefined,
    work: (chars: Map<string, NobleCharacteristic>) => Promise<T>,
  ): Promise<T> {
    const chars = this.session?.chars ?? (await this.open(signal));
    try {
      return await work(chars);
    } finally {
      if (!this.isPersistent) await this.disconnect();
    }
  }

  private async open(signal: AbortSignal | undefined): Promise<Map<string, NobleCharacteristic>> {
    const peripheral = this.peripheral;
    if (peripheral === undefined || this.isClosed) throw new Error('the device has not been heard yet');
    const release = await this.options.slots.acquire(signal);
    try {
      const { connectTimeoutMs } = this.options;
      await bounded(peripheral.connectAsync(), connectTimeoutMs, 'GATT connect', signal).catch(
        (e: unknown) => {
          peripheral.cancelConnect();
          throw e;
        },
      );
      const targets = [...this.options.readings, ...this.options.commandTargets];
      const { characteristics } = await bounded(
        peripheral.discoverSomeServicesAndCharacteristicsAsync(
          [...new Set(targets.map((t) => t.service))],
          [...new Set(targets.map((t) => t.characteristic))],
        ),
        connectTimeoutMs,
        'GATT discovery',
        signal,
      );
      const chars = new Map(characteristics.map((c) => [key(c._serviceUuid, c.uuid), c]));
      this.session = { chars, release };
      peripheral.once('disconnect', () => this.onDisconnected(chars));
      this.options.onConnectedChange(true);
      if (this.isPersistent) await this.subscribe(chars);
      return chars;
    } catch (e) {
      if (this.session === undefined) release();
      else await this.disconnect();
      throw e;
    }
  }

  private async subscribe(chars: Map<string, NobleCharacteristic>): Promise<void> {
    for (const reading of this.options.readings.filter((r) => r.mode === 'notify')) {
      const char = chars.get(key(reading.service, reading.characteristic));
      if (char === undefined) continue;
      char.on('data', (data: Buffer, isNotification: boolean) => {
        // noble also emits 'data' for our own reads; only notifications are handled here.
        if (isNotification) this.deliver(reading, data);
      });
      await bounded(char.subscribeAsync(), this.options.connectTimeoutMs, 'GATT subscribe');
      // The current value at once, rather than whenever the device next changes it.
      this.deliver(reading, await bounded(char.readAsync(), this.options.connectTimeoutMs, 'GATT read'));
    }
  }

  private onDisconnected(chars: Map<string, NobleCharacteristic>): void {
    if (this.session?.chars !== chars) return;
    this.session.release();
    this.session = undefined;
    for (const char of chars.values()) char.removeAllListeners('data');
    this.options.onConnectedChange(false);
    if (this.isPersistent && !this.isClosed) this.scheduleReconnect();
  }

  private async disconnect(): Promise<void> {
    const session = this.session;
    if (session === undefined || this.peripheral === undefined) return;
    await bounded(this.peripheral.disconnectAsync(), this.options.connectTimeoutMs, 'GATT disconnect').catch(
      () => undefined,
    );
    this.onDisconnected(session.chars);
  }

  private deliver(reading: GattReadingOptions, data: Buffer): void {
    const raw = readValue(data, reading.format, reading.offset);
    if (raw === undefined) {
      this.options.log.debug(
        { characteristic: reading.characteristic },
        'A GATT value was too short; dropped.',
      );
      return;
    }
    const value = reading.format === 'bool' ? raw !== 0 : scaled(raw, reading.scale);
    this.options.onValues(
      { [reading.name]: value },
      reading.unit === undefined ? {} : { [reading.name]: reading.unit },
    );
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private every(intervalMs: number, tick: () => void): void {
    this.after(intervalMs, () => {
      tick();
      this.every(intervalMs, tick);
    });
  }

  private after(delayMs: number, then: () => void): void {
    if (this.isClosed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      then();
    }, delayMs);
    this.timers.add(timer);
  }
}
