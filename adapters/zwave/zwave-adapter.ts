import fs from 'node:fs/promises';
import path from 'node:path';
import type * as ZwaveJs from 'zwave-js';
import type { Driver, ZWaveNode, ZWaveNotificationCallback } from 'zwave-js';
import type { Adapter, AdapterContext, PairingSecrets, ProvisioningEntry } from '../adapter.js';
import { Reopener } from '../reopen.js';
import { DropCounts } from '../drop-counts.js';
import type { CommandResult, DeviceCommand, DeviceId, DeviceInfo } from '../../src/model.js';
import { errorMessage, FieldgateError } from '../../src/errors.js';
import { NODE_STATUS } from './availability.js';
import { planCommand } from './command-mapping.js';
import { releaseDeviceIndexWhenIdle } from './device-index-release.js';
import { DriverLogBridge, driverLogLevel } from './driver-log.js';
import type { ZwaveDropReason } from './frame-drops.js';
import { mapEvent, type ZwaveEvent } from './event-mapping.js';
import { applyConfiguration } from './configuration.js';
import { removeNode } from './exclusion.js';
import { InclusionWindow } from './inclusion-window.js';
import { importZwaveJs } from './load-zwave-js.js';
import { resolveNetworkKeys, type NetworkKeys } from './keys.js';
import { leaveSmartStartListening, provision, toProvisioningEntry } from './smartstart.js';
import {
  deviceInfoOf,
  insecureReasonOf,
  nodeFactsOf,
  zwaveValueOf,
  type ValueEventArgs,
} from './node-view.js';
import { driverSecurityKeys, type ZwaveOptions } from './options.js';
import { toCommandResult } from './result-mapping.js';
import { checkPairingSecrets } from './s2-pairing.js';
import { CC, mapValue } from './value-mapping.js';
import { writeValue } from './write-value.js';

type ZwaveModule = typeof ZwaveJs;

/** How long closing the driver may take before stop() gives up waiting for it. */
const DESTROY_TIMEOUT_MS = 10_000;

/** How often sleeping nodes are checked against their wake-up interval (availability only). */
const AVAILABILITY_CHECK_MS = 60_000;

/**
 * Z-Wave through a zwave-js Driver. zwave-js is imported only in `start()`. The adapter owns one Driver at
 * a time: when the stick vanishes and zwave-js gives up on it (`Driver_Failed`), the adapter reports
 * `degraded` and builds a fresh Driver after a backoff (`options.reopen`), until `stop()`.
 */
export class ZwaveAdapter implements Adapter {
  private ctx: AdapterContext | undefined;
  private zwave: ZwaveModule | undefined;
  private driver: Driver | undefined;
  private isReady = false;
  private hasRunBefore = false;
  /** Drivers built so far by this process; names each Driver's lock dir. */
  private generation = 0;
  /** Builds a fresh Driver with backoff (`options.reopen`) after the stick was lost. */
  private readonly reopen: Reopener;
  private availabilityTimer: NodeJS.Timeout | undefined;
  private inclusion: InclusionWindow | undefined;
  /** The network keys the driver runs with: configured, else stored in the state dir, else generated. */
  private keys: NetworkKeys | undefined;
  private readonly nodes = new Map<DeviceId, ZWaveNode>();
  private readonly lastSeen = new Map<DeviceId, number>();
  private readonly lastInfo = new Map<DeviceId, DeviceInfo>();
  /** Configuration parameters sent to each device (number → value), so each is sent once per value. */
  private readonly configured = new Map<DeviceId, Map<string, number>>();
  /** Devices whose commands cannot work for lack of granted security, with the reason; shown in `status`. */
  private readonly insecure = new Map<DeviceId, string>();
  /** Malformed frames zwave-js dropped, by reason, over every Driver this adapter built. */
  private readonly dropped = new DropCounts<ZwaveDropReason>();

  constructor(private readonly options: ZwaveOptions) {
    this.reopen = new Reopener(options.reopen);
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.ctx = ctx;
    ctx.setStatus('starting');
    try {
      this.zwave = await importZwaveJs();
    } catch (e) {
      ctx.setStatus('unavailable', `zwave-js cannot be loaded: ${errorMessage(e)}`);
      return;
    }
    try {
      this.keys = await resolveNetworkKeys(ctx.stateDir, this.options, ctx.log);
    } catch (e) {
      ctx.setStatus('unavailable', `Z-Wave network keys: ${errorMessage(e)}`);
      return;
    }
    // Lock dirs of an earlier run are stale: this process is the state dir's only user.
    await fs.rm(path.join(ctx.stateDir, 'locks'), { recursive: true, force: true });
    this.availabilityTimer = setInterval(() => this.refreshAll(), AVAILABILITY_CHECK_MS);
    this.availabilityTimer.unref();
    await this.open();
  }

  async stop(): Promise<void> {
    const ctx = this.ctx;
    this.ctx = undefined;
    this.reopen.stop();
    clearInterval(this.availabilityTimer);
    await this.inclusion?.close();
    await this.closeDriver();
    ctx?.setStatus('stopped');
  }

  devices(): DeviceInfo[] {
    return [...this.nodes.keys()].flatMap((id) => this.infoOf(id) ?? []);
  }

  droppedFrames(): Record<string, number> {
    return this.dropped.snapshot();
  }

  isReachable(id: DeviceId): boolean {
    const node = this.nodes.get(id);
    if (node === undefined || !this.isReady) return false;
    const status: number = node.status;
    return (
      status === NODE_STATUS.alive ||
      status === NODE_STATUS.awake ||
      (status === NODE_STATUS.unknown && node.canSleep !== true)
    );
  }

  async execute(cmd: DeviceCommand, signal: AbortSignal): Promise<CommandResult> {
    const node = this.nodes.get(cmd.device);
    if (node === undefined) return { id: cmd.id, status: 'rejected', detail: `unknown device ${cmd.device}` };
    const remainingMs = cmd.expiresAt === undefined ? undefined : cmd.expiresAt - this.now();
    if (signal.aborted || (remainingMs !== undefined && remainingMs <= 0)) {
      return { id: cmd.id, status: 'expired', detail: 'the command expired before it was sent' };
    }
    // Checked before the node is read: a node of a lost driver must not be touched.
    if (!this.isReady || this.zwave === undefined) {
      return { id: cmd.id, status: 'failed', detail: 'the Z-Wave stick is not connected' };
    }
    const plan = planCommand(cmd.name, cmd.args, nodeFactsOf(node));
    if (!plan.ok) return { id: cmd.id, status: plan.status, detail: plan.detail };
    // A frame the device ignores must not be reported as done: an insecurely included lock never locks.
    const insecure = insecureReasonOf(node);
    if (insecure !== undefined) return { id: cmd.id, status: 'failed', detail: insecure };
    // zwave-js's `expire` drops the message from its own queue at the TTL (e.g. while the node sleeps),
    // so a command is never sent late; the error it raises becomes `expired`.
    const outcome = await writeValue(node, plan.write, remainingMs, this.zwave.ZWaveErrorCodes);
    const result = toCommandResult(cmd.id, outcome);
    this.ctx?.log.debug({ device: cmd.device, command: cmd.name, status: result.status }, 'Command done.');
    return result;
  }

  async permitJoin(seconds: number, secrets: PairingSecrets = {}): Promise<void> {
    checkPairingSecrets(secrets);
    await this.inclusion?.close();
    this.inclusion = undefined;
    if (seconds <= 0) return;
    const driver = this.readyDriver();
    const ctx = this.ctx;
    if (ctx === undefined || this.zwave === undefined) return;
    this.inclusion = new InclusionWindow(
      { controller: driver.controller, zwave: this.zwave, options: this.keyedOptions(), log: ctx.log },
      secrets,
    );
    await this.inclusion.open(seconds);
  }

  async remove(id: DeviceId): Promise<void> {
    const node = this.nodes.get(id);
    // A node the controller does not know is not in the network: there is nothing to take out.
    if (node === undefined) return;
    const driver = this.readyDriver();
    // The controller cannot include and exclude at once; removing is what the operator asked for last.
    await this.inclusion?.close();
    const ctx = this.ctx;
    if (ctx === undefined || this.zwave === undefined) return;
    await removeNode(node, {
      controller: driver.controller,
      zwave: this.zwave,
      timeoutMs: this.options.exclusionTimeoutMs,
      log: ctx.log,
    });
  }

  async provision(code: string): Promise<ProvisioningEntry> {
    const driver = this.readyDriver();
    const zwave = this.zwave;
    if (zwave === undefined) throw new FieldgateError('FG_ADAPTER_UNAVAILABLE', 'zwave-js is not loaded');
    const entry = await provision(driver.controller, code, zwave);
    this.ctx?.log.info({ dsk: entry.dsk }, 'Z-Wave device added to the SmartStart list.');
    return toProvisioningEntry(entry, zwave, (nodeId) => this.nodeDeviceId(driver, nodeId));
  }

  /** A reload replaced config `devices:`: configuration parameters whose value changed are sent now. */
  settingsChanged(): void {
    for (const id of this.nodes.keys()) this.configure(id);
  }

  provisioned(): ProvisioningEntry[] {
    const driver = this.readyDriver();
    const zwave = this.zwave;
    if (zwave === undefined) return [];
    return driver.controller
      .getProvisioningEntries()
      .map((entry) => toProvisioningEntry(entry, zwave, (nodeId) => this.nodeDeviceId(driver, nodeId)));
  }

  unprovision(dsk: string): Promise<boolean> {
    const driver = this.readyDriver();
    if (driver.controller.getProvisioningEntry(dsk) === undefined) return Promise.resolve(false);
    driver.controller.unprovisionSmartStartNode(dsk);
    this.ctx?.log.info({ dsk }, 'Z-Wave device taken off the SmartStart list.');
    return Promise.resolve(true);
  }

  /** The options with every network key filled in (see `resolveNetworkKeys`). */
  private keyedOptions(): ZwaveOptions {
    return this.keys === undefined ? this.options : { ...this.options, ...this.keys };
  }

  /** The driver, when the stick is connected; pairing and removal need the radio itself. */
  private readyDriver(): Driver {
    if (this.driver === undefined || !this.isReady)
      throw new FieldgateError('FG_ADAPTER_UNAVAILABLE', 'the Z-Wave stick is not connected');
    return this.driver;
  }

  private async open(): Promise<void> {
    const ctx = this.ctx;
    const zwave = this.zwave;
    if (ctx === undefined || zwave === undefined) return;
    this.generation += 1;
    const driver = new zwave.Driver(this.options.serialPort, {
      // `enabled: false` turns off zwave-js's own console and file output; the bridge still gets every entry.
      logConfig: {
        enabled: false,
        level: driverLogLevel(ctx.log),
        transports: [
          new DriverLogBridge(ctx.log.child({ component: 'zwave-js' }), (reason) =>
            this.dropped.count(reason),
          ),
        ],
      },
      storage: {
        cacheDir: path.join(ctx.stateDir, 'cache'),
        // zwave-js 15.29 keeps its cache locks held after it destroys itself over a lost port, so the
        // next Driver could never open the cache. The locks only guard against a second process, which
        // the gateway's own state-dir lock already excludes; each Driver gets a lock dir of its own.
        lockDir: path.join(ctx.stateDir, 'locks', String(this.generation)),
      },
      ...driverSecurityKeys(this.keyedOptions()),
    });
    this.driver = driver;
    releaseDeviceIndexWhenIdle(driver);
    try {
      await new Promise<void>((resolve, reject) => {
        driver.once('driver ready', resolve);
        driver.on('error', (e) => {
          if (this.isFatal(e)) reject(e);
          else ctx.log.warn({ err: e }, 'The Z-Wave driver reported an error.');
        });
        driver.start().catch(reject);
      });
    } catch (e) {
      await this.lost(driver, errorMessage(e));
      return;
    }
    if (this.driver !== driver || this.ctx === undefined) return;
    this.onReady(driver);
  }

  private onReady(driver: Driver): void {
    const ctx = this.ctx;
    if (ctx === undefined) return;
    driver.removeAllListeners('error');
    driver.on('error', (e) => {
      if (this.isFatal(e)) void this.lost(driver, errorMessage(e));
      else ctx.log.warn({ err: e }, 'The Z-Wave driver reported an error.');
    });
    this.isReady = true;
    this.hasRunBefore = true;
    this.reopen.succeeded();
    driver.controller.on('node added', (node) => this.attach(driver, node));
    driver.controller.on('node removed', (node) => this.detach(driver, node));
    for (const node of driver.controller.nodes.values()) {
      if (!node.isControllerNode) this.attach(driver, node);
    }
    ctx.log.info({ serialPort: this.options.serialPort, nodes: this.nodes.size }, 'Z-Wave network ready.');
    ctx.setStatus('running', this.insecureDetail());
  }

  /** The stick failed to open or zwave-js gave up on it: release it, report, and try again later. */
  private async lost(driver: Driver, reason: string): Promise<void> {
    if (this.driver !== driver) return;
    this.isReady = false;
    await this.closeDriver();
    const ctx = this.ctx;
    if (ctx === undefined) return;
    for (const id of this.nodes.keys()) this.changed(id);
    ctx.setStatus(this.hasRunBefore ? 'degraded' : 'unavailable', `Z-Wave stick: ${reason}`);
    const delayMs = this.reopen.retry(() => void this.open());
    if (this.reopen.failures === 1)
      ctx.log.warn({ reason, delayMs }, 'Z-Wave stick lost; reopening with backoff.');
  }

  private async closeDriver(): Promise<void> {
    const driver = this.driver;
    this.driver = undefined;
    this.isReady = false;
    if (driver === undefined) return;
    driver.removeAllListeners();
    // A failed driver may throw while tearing down; the stick is gone either way.
    driver.on('error', () => undefined);
    leaveSmartStartListening(driver);
    // destroy() can wait forever for an exchange the stick never finishes (seen when stopped right after
    // the network became ready); stop() must resolve regardless, so the wait is bounded.
    let timer: NodeJS.Timeout | undefined;
    const isDestroyed = await Promise.race([
      driver.destroy().then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), DESTROY_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!isDestroyed)
      this.ctx?.log.warn(
        { timeoutMs: DESTROY_TIMEOUT_MS },
        'The Z-Wave driver did not close in time; moving on.',
      );
  }

  private isFatal(e: Error): boolean {
    const codes = this.zwave?.ZWaveErrorCodes;
    const code = (e as { code?: unknown }).code;
    return codes !== undefined && (code === codes.Driver_Failed || code === codes.Driver_Destroyed);
  }

  private attach(driver: Driver, node: ZWaveNode): void {
    const id = this.deviceIdOf(driver, node);
    // A node id that comes back (re-included, replaced) is the same device; its old node object is dead.
    this.nodes.get(id)?.removeAllListeners();
    this.nodes.set(id, node);
    const onValue = (args: ValueEventArgs, value: unknown): void => this.onValue(id, node, args, value);
    node.on('value added', (_n, args) => onValue(args, args.newValue));
    node.on('value updated', (_n, args) => onValue(args, args.newValue));
    node.on('value notification', (_n, args) => onValue(args, args.value));
    const onEvent: ZWaveNotificationCallback = (endpoint, ccId, args) =>
      this.onEvent(id, { ...args, commandClass: ccId, endpoint: endpoint.index } as ZwaveEvent);
    node.on('notification', onEvent);
    node.on('wake up', () => this.onAwake(id));
    node.on('alive', () => this.onAwake(id));
    node.on('sleep', () => this.changed(id));
    node.on('dead', () => this.changed(id));
    node.on('ready', () => {
      this.changed(id);
      this.configure(id);
    });
    node.on('interview completed', () => this.changed(id));
    this.changed(id);
    if (node.ready) this.configure(id);
  }

  private detach(driver: Driver, node: ZWaveNode): void {
    const id = this.deviceIdOf(driver, node);
    node.removeAllListeners();
    this.nodes.delete(id);
    this.lastSeen.delete(id);
    this.lastInfo.delete(id);
    this.configured.delete(id);
    this.noteInsecure(id, undefined);
    this.ctx?.deviceRemoved(id);
  }

  private onValue(id: DeviceId, node: ZWaveNode, args: ValueEventArgs, value: unknown): void {
    const ctx = this.ctx;
    const mapped = mapValue(zwaveValueOf(node, args, value));
    if (ctx === undefined || mapped === undefined) return;
    const ts = this.now();
    this.lastSeen.set(id, ts);
    const reading =
      mapped.unit === undefined
        ? { device: id, ts, values: { [mapped.name]: mapped.value } }
        : { device: id, ts, values: { [mapped.name]: mapped.value }, units: { [mapped.name]: mapped.unit } };
    ctx.emit([reading]).catch((e: unknown) => {
      ctx.log.error({ err: e, device: id }, 'A Z-Wave reading could not be handed to the pipeline.');
    });
  }

  /** A stateless event (keypad code, Entry Control): one reading, nothing kept in the value DB. */
  private onEvent(id: DeviceId, event: ZwaveEvent): void {
    const ctx = this.ctx;
    const ccId: number = event.commandClass;
    if (ctx === undefined || (ccId !== CC.notification && ccId !== CC.entryControl)) return;
    const values = mapEvent(event);
    const ts = this.now();
    this.lastSeen.set(id, ts);
    ctx.emit([{ device: id, ts, values }]).catch((e: unknown) => {
      ctx.log.error({ err: e, device: id }, 'A Z-Wave event could not be handed to the pipeline.');
    });
  }

  private onAwake(id: DeviceId): void {
    this.lastSeen.set(id, this.now());
    this.changed(id);
    this.ctx?.deviceAwake(id);
  }

  private changed(id: DeviceId): void {
    // Called from zwave-js event handlers: an exception here would unwind into the driver's own code.
    try {
      const info = this.infoOf(id);
      if (info !== undefined) this.ctx?.deviceChanged(info);
    } catch (e) {
      this.ctx?.log.error({ err: e, device: id }, 'The Z-Wave device info could not be read.');
    }
  }

  /** Re-evaluates availability, which changes with time alone for sleeping nodes that miss check-ins. */
  private refreshAll(): void {
    for (const id of this.nodes.keys()) this.changed(id);
  }

  /** Sends the device's configuration parameters (config `devices:`) it has not been sent yet. */
  private configure(id: DeviceId): void {
    const node = this.nodes.get(id);
    const ctx = this.ctx;
    const zwave = this.zwave;
    if (node === undefined || ctx === undefined || zwave === undefined || !this.isReady || !node.ready)
      return;
    const wanted = ctx.deviceSettings?.(id)?.configuration;
    if (wanted === undefined) return;
    let attempted = this.configured.get(id);
    if (attempted === undefined) {
      attempted = new Map();
      this.configured.set(id, attempted);
    }
    void applyConfiguration(node, id, wanted, attempted, zwave.SetValueStatus, ctx.log);
  }

  /**
   * The device as shown now. While the stick is gone the nodes of the lost driver must not be read (zwave-js
   * throws), so the last known info is shown with availability `unknown`.
   */
  private infoOf(id: DeviceId): DeviceInfo | undefined {
    const node = this.nodes.get(id);
    const ctx = this.ctx;
    if (node === undefined || ctx === undefined) return undefined;
    if (!this.isReady) {
      const known = this.lastInfo.get(id);
      return known === undefined ? undefined : { ...known, availability: 'unknown' };
    }
    const info = deviceInfoOf(node, {
      id,
      adapter: ctx.name,
      lastSeen: this.lastSeen.get(id) ?? 0,
      now: this.now(),
      sleepGraceMs: this.options.sleepGraceMs,
    });
    this.lastInfo.set(id, info);
    this.noteInsecure(id, info.insecure);
    return info;
  }

  /** Keeps the insecure devices in the adapter's status detail; WARN once when a device turns insecure. */
  private noteInsecure(id: DeviceId, reason: string | undefined): void {
    if (this.insecure.get(id) === reason) return;
    if (reason === undefined) this.insecure.delete(id);
    else {
      this.insecure.set(id, reason);
      this.ctx?.log.warn({ device: id, reason }, 'A Z-Wave device lacks the security its commands need.');
    }
    if (this.isReady) this.ctx?.setStatus('running', this.insecureDetail());
  }

  /** `status` detail while running: the insecure devices, if any. */
  private insecureDetail(): string | undefined {
    if (this.insecure.size === 0) return undefined;
    const ids = [...this.insecure.keys()].sort();
    return `${ids.length} insecure device(s) whose commands fail (see \`fieldgate devices show\`): ${ids.join(', ')}`;
  }

  /**
   * `<adapter>:<homeId hex>-<nodeId>` (docs/architecture.md#vocabulary), stable across restarts and sticks of
   * one network.
   */
  private deviceIdOf(driver: Driver, node: ZWaveNode): DeviceId {
    return this.nodeDeviceId(driver, node.id);
  }

  private nodeDeviceId(driver: Driver, nodeId: number): DeviceId {
    const homeId = (driver.controller.homeId ?? 0).toString(16).padStart(8, '0');
    return `${this.ctx?.name ?? 'zwave'}:${homeId}-${nodeId}`;
  }

  private now(): number {
    return this.ctx?.now() ?? Date.now();
  }
}
