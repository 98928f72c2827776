import type { Adapter, AdapterContext } from '../adapter.js';
import { Reopener } from '../reopen.js';
import { errorMessage } from '../../src/errors.js';
import type { CommandResult, DeviceCommand, DeviceId, DeviceInfo } from '../../src/model.js';
import { AdvertIntake } from './advert-intake.js';
import type { HeardDevice } from './device-registry.js';
import { planCommand } from './commands.js';
import { ConnectionSlots } from './connection-slots.js';
import { CounterStore } from './counter-store.js';
import { GattLink } from './gatt-link.js';
import type { Noble, NoblePeripheral, NobleState } from './noble-types.js';
import type { BleOptions } from './options.js';
import { PacketGuard, type RestartPolicy } from './packet-guard.js';
import {
  detachNobleSignalHandler,
  onRawAdvertisingReports,
  openNoble,
  openProblem,
  stateProblem,
} from './radio.js';
import { ScanWatchdog } from './scan-watchdog.js';
import { emptyStats, type BleStats } from './stats.js';
import { bounded } from './timeouts.js';

/** Seams for tests; production uses the defaults. */
export interface BleAdapterDeps {
  /** Builds a noble instance (default: the real one, imported lazily). */
  openNoble?: (hciDevice: number) => Promise<Noble>;
  /** How long `start` waits for the radio to report its first state (default 10 s). */
  startTimeoutMs?: number;
  /** When a keyed device's counter that went back is trusted as its restart (docs/radios.md#keys). */
  restartPolicy?: RestartPolicy;
}

/** noble's scan start/stop answer within milliseconds on a healthy controller. */
const SCAN_COMMAND_TIMEOUT_MS = 5000;

/**
 * Replay counters reach the state dir at most this often while running (and always on stop): one small
 * write a minute is nothing to an SD card, and a crash loses at most this much of the counters' progress.
 */
const COUNTER_SAVE_INTERVAL_MS = 60_000;

/**
 * Bluetooth LE through noble: passive sensors by advertisement (docs/radios.md#bluetooth-le lists the formats), GATT
 * devices described in config, and GATT write commands. See docs/architecture.md#adapter for the contract.
 *
 * The radio is reopened with backoff when it cannot be opened at all; a radio that is powered off or
 * rfkilled is watched by noble itself, and scanning resumes when it comes back.
 */
export class BleAdapter implements Adapter {
  private ctx: AdapterContext | undefined;
  private intake: AdvertIntake | undefined;
  private noble: Noble | undefined;
  private readonly links = new Map<string, GattLink>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly counters: BleStats = emptyStats();
  private watchdog: ScanWatchdog | undefined;
  private counterStore: CounterStore | undefined;
  private counterSave: Promise<void> = Promise.resolve();
  private counterSavedAt = 0;
  private isCounterSaveFailing = false;
  private isStopped = false;
  /** Reopens the radio, or retries a scan start, with backoff. */
  private readonly reopen: Reopener;

  constructor(
    private readonly options: BleOptions,
    private readonly deps: BleAdapterDeps = {},
  ) {
    this.reopen = new Reopener(options.reopen, { unref: true });
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.ctx = ctx;
    ctx.setStatus('starting');
    const slots = new ConnectionSlots(this.options.maxConnections);
    const guard = new PacketGuard(this.deps.restartPolicy);
    this.intake = new AdvertIntake(ctx, this.options, this.links, this.counters, guard);
    this.counterStore = new CounterStore(ctx.stateDir);
    this.counterSavedAt = ctx.now();
    try {
      guard.restore(await this.counterStore.load());
    } catch (e) {
      // Without the saved counters, replay protection restarts from the first authentic packet of each device.
      ctx.log.warn(
        { err: errorMessage(e), file: this.counterStore.file },
        'Could not read the saved BLE replay counters; each keyed device starts from its next packet.',
      );
    }
    for (const device of this.options.devices) {
      if (device.gatt === undefined) continue;
      const { address } = device;
      const link = new GattLink({
        readings: device.gatt.readings,
        commandTargets: device.gatt.commands,
        slots,
        connectTimeoutMs: this.options.connectTimeoutMs,
        reopen: this.options.reopen,
        log: ctx.log.child({ device: `${ctx.name}:${address}` }),
        onValues: (values, units) => this.intake?.onGattValues(address, values, units),
        onConnectedChange: (isConnected) => this.intake?.onConnectedChange(address, isConnected),
      });
      this.links.set(address, link);
    }
    this.watchdog = new ScanWatchdog(this.options.scanStallMs, ctx.now(), (silentMs) =>
      this.onScanStall(silentMs),
    );
    const tickMs = Math.max(
      50,
      Math.min(5000, this.options.scanStallMs / 4, this.options.availability.minOfflineMs / 4),
    );
    const housekeeping = setInterval(() => this.housekeeping(), tickMs);
    housekeeping.unref();
    this.timers.add(housekeeping);
    await this.openRadio();
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    this.reopen.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.links.values()].map((link) => link.close()));
    await this.saveCounters();
    const noble = this.noble;
    this.noble = undefined;
    if (noble !== undefined) {
      noble.removeAllListeners('discover');
      noble.removeAllListeners('stateChange');
      if (noble.state === 'poweredOn') {
        await bounded(noble.stopScanningAsync(), SCAN_COMMAND_TIMEOUT_MS, 'BLE scan stop').catch(
          () => undefined,
        );
      }
    }
    this.ctx?.setStatus('stopped');
  }

  devices(): DeviceInfo[] {
    return this.intake?.registry.devices() ?? [];
  }

  /**
   * Every device heard nearby (discovery mode), in a known format or `unknown`, with its RSSI and whether
   * its readings are forwarded, so an operator can pick what to allow.
   */
  discoveredDevices(): HeardDevice[] {
    return this.intake?.registry.discovered() ?? [];
  }

  /** A snapshot of the adapter's counters. */
  stats(): BleStats {
    return structuredClone(this.counters);
  }

  /** The advertisements dropped by reason, as `status` shows them for every radio. */
  droppedFrames(): Record<string, number> {
    return { ...this.counters.dropped };
  }

  isReachable(id: DeviceId): boolean {
    return this.intake?.isReachable(id) ?? false;
  }

  async execute(cmd: DeviceCommand, signal: AbortSignal): Promise<CommandResult> {
    const ctx = this.ctx;
    const intake = this.intake;
    if (ctx === undefined || intake?.registry.get(cmd.device) === undefined) {
      return { id: cmd.id, status: 'rejected', detail: `unknown device ${cmd.device}` };
    }
    const address = cmd.device.slice(ctx.name.length + 1);
    const planned = planCommand(intake.registry.configured(address)?.gatt?.commands ?? [], cmd);
    if (!planned.ok) return { id: cmd.id, status: planned.status, detail: planned.detail };
    if (signal.aborted || (cmd.expiresAt !== undefined && cmd.expiresAt <= ctx.now())) {
      return { id: cmd.id, status: 'expired', detail: 'the command expired before it could be sent' };
    }
    const link = this.links.get(address);
    if (link === undefined || !link.hasPeripheral) {
      return {
        id: cmd.id,
        status: 'failed',
        detail: 'the device has not been heard since the gateway started',
      };
    }
    try {
      await link.write(planned.plan, signal);
      return { id: cmd.id, status: 'ok' };
    } catch (e) {
      if (signal.aborted)
        return { id: cmd.id, status: 'expired', detail: 'the command expired before it could be sent' };
      return { id: cmd.id, status: 'failed', detail: errorMessage(e) };
    }
  }

  private async openRadio(): Promise<void> {
    const ctx = this.ctx!;
    const hci = this.options.hciDevice;
    let noble: Noble;
    try {
      noble = await (this.deps.openNoble ?? openNoble)(hci);
    } catch (e) {
      this.radioFailed(openProblem(e, hci));
      return;
    }
    if (this.isStopped) return;
    this.noble = noble;
    onRawAdvertisingReports(noble, (address, data) => this.intake?.onRawReport(address, data));
    const firstState = new Promise<void>((resolve) => {
      noble.on('warning', (message: string) => {
        // noble reports a failed bindRaw (no such hciN) only as this warning; the instance is then dead.
        if (!message.startsWith('Initialization')) return;
        noble.removeAllListeners();
        if (this.noble === noble) this.noble = undefined;
        // The thrown error is lost, only its message remains; recover the errno code from it.
        const detail = message.replace(/^.*failed: /, '');
        const code = /\b(E[A-Z]{3,})\b/.exec(detail)?.[1];
        this.radioFailed(openProblem(Object.assign(new Error(detail), { code }), hci));
        resolve();
      });
      noble.on('stateChange', (state: NobleState) => {
        detachNobleSignalHandler(noble);
        this.onRadioState(noble, state);
        resolve();
      });
      noble.on('discover', (peripheral: NoblePeripheral) => {
        this.watchdog?.touch(ctx.now());
        this.intake?.onDiscover(peripheral);
      });
    });
    await bounded(firstState, this.deps.startTimeoutMs ?? 10_000, 'BLE radio start').catch(() => {
      ctx.setStatus('unavailable', `hci${hci} did not answer`);
    });
  }

  private onRadioState(noble: Noble, state: NobleState): void {
    const problem = stateProblem(state, this.options.hciDevice);
    if (problem === undefined) {
      void this.startScan(noble);
      return;
    }
    // A powered-off or blocked radio is polled by noble itself and reported again when it is back.
    this.ctx?.log.warn({ state }, 'The BLE radio cannot scan.');
    this.ctx?.setStatus('unavailable', problem);
  }

  private async startScan(noble: Noble): Promise<void> {
    const ctx = this.ctx!;
    try {
      await bounded(noble.startScanningAsync([], true), SCAN_COMMAND_TIMEOUT_MS, 'BLE scan start');
      if (this.isStopped) return;
      this.watchdog?.touch(ctx.now());
      this.reopen.succeeded();
      ctx.setStatus('running');
      ctx.log.info({ hciDevice: this.options.hciDevice }, 'BLE scanning started.');
    } catch (e) {
      if (this.isStopped) return;
      ctx.setStatus('degraded', `cannot start scanning: ${errorMessage(e)}`);
      this.reopen.retry(() => void this.startScan(noble));
    }
  }

  private onScanStall(silentMs: number): void {
    const noble = this.noble;
    if (noble === undefined || noble.state !== 'poweredOn') return;
    this.counters.scanRestarts++;
    this.ctx?.log.warn({ silentMs }, 'No BLE advertisement heard for a while; restarting the scan.');
    void bounded(noble.stopScanningAsync(), SCAN_COMMAND_TIMEOUT_MS, 'BLE scan stop')
      .catch(() => undefined)
      .then(() => this.startScan(noble));
  }

  private radioFailed(reason: string): void {
    if (this.isStopped) return;
    this.ctx?.setStatus('unavailable', reason);
    const delayMs = this.reopen.retry(() => {
      this.counters.radioReopens++;
      void this.openRadio();
    });
    // Warn once per episode; the retries that follow are routine until the radio comes back.
    if (this.reopen.failures === 1)
      this.ctx?.log.warn({ reason, retryInMs: delayMs }, 'The BLE radio is unavailable.');
  }

  private housekeeping(): void {
    if (this.isStopped || this.ctx === undefined) return;
    this.watchdog?.check(this.ctx.now());
    this.intake?.sweep();
    if (this.ctx.now() - this.counterSavedAt >= COUNTER_SAVE_INTERVAL_MS) void this.saveCounters();
  }

  /** Writes the replay counters if any changed; one write at a time, a failure warned about once. */
  private saveCounters(): Promise<void> {
    this.counterSave = this.counterSave.then(async () => {
      const guard = this.intake?.guard;
      const store = this.counterStore;
      if (guard === undefined || store === undefined || !guard.isDirty) return;
      this.counterSavedAt = this.ctx?.now() ?? Date.now();
      try {
        await store.save(guard.marks());
        this.isCounterSaveFailing = false;
      } catch (e) {
        guard.isDirty = true;
        if (this.isCounterSaveFailing) return;
        this.isCounterSaveFailing = true;
        this.ctx?.log.warn(
          { err: errorMessage(e), file: store.file },
          'Could not save the BLE replay counters; after a restart, packets recorded before it could be replayed once.',
        );
      }
    });
    return this.counterSave;
  }
}
