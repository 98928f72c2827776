import type * as Herdsman from 'zigbee-herdsman';
import type { Controller, Events, Models } from 'zigbee-herdsman';
import type { Adapter, AdapterContext } from '../adapter.js';
import { Reopener, type ReopenerDeps } from '../reopen.js';
import { FieldgateError, errorMessage } from '../../src/errors.js';
import type {
  AdapterState,
  Availability,
  CommandResult,
  DeviceCommand,
  DeviceId,
  DeviceInfo,
} from '../../src/model.js';
import { needsPing } from './availability.js';
import { exposesOf, notifyDeviceEvent, type DeviceEventType, type ZhcModule } from './converters.js';
import { executeCommand } from './execute-command.js';
import { bridgeLibraryLogger } from './library-logger.js';
import { resolveNetworkSettings, type NetworkSettings } from './network-settings.js';
import { PortPresence } from './port-presence.js';
import { keepKeyFilesPrivate } from './private-files.js';
import { serialPortProblem } from './serial-port-problem.js';
import type { ZigbeeOptions } from './options.js';
import { controllerOptions } from './controller-options.js';
import { DeviceConfigurator } from './device-configurator.js';
import { guardDeconzSocketClose, retireDeconzDriver, SelfReconnectingLinkFollower } from './deconz-link.js';
import { MessageIntake } from './message-intake.js';
import { ZigbeeDevice } from './zigbee-device.js';

type HerdsmanModule = typeof Herdsman;

/**
 * Availability pings per check, so a restart after a long stop (every router silent) does not flood the
 * coordinator's queue; the rest are pinged at the next checks.
 */
const MAX_PINGS_PER_CHECK = 5;

export interface ZigbeeAdapterDeps {
  /** The reopen loop's jitter and timer; default `Math.random` and a Node timer. */
  reopen?: ReopenerDeps;
}

/**
 * The Zigbee radio: a zigbee-herdsman `Controller` for the network, zigbee-herdsman-converters for what
 * devices mean. herdsman loads in `start()`; the converters load when the first device needs them (a
 * coordinator that is absent or has no devices yet costs no converter memory). A coordinator that cannot be
 * opened or goes away makes the adapter `unavailable` / `degraded` and is reopened with backoff; nothing
 * here ends the process.
 *
 * herdsman keeps its device cache in module statics, so one process runs one Zigbee adapter: the config
 * refuses a second (`extraZigbeeAdapters` in options.ts).
 */
export class ZigbeeAdapter implements Adapter {
  private ctx: AdapterContext | undefined;
  private zh: HerdsmanModule | undefined;
  private zhcLoading: Promise<ZhcModule> | undefined;
  private libraryLog: ReturnType<typeof bridgeLibraryLogger> | undefined;
  /** Polls the coordinator's serial device node: some drivers (deCONZ) never report an unplug. */
  private readonly presence: PortPresence;
  private network: NetworkSettings | undefined;
  private controller: Controller | undefined;
  private isOpen = false;
  /** Why the coordinator is not open, for an operator who asks it to pair meanwhile. */
  private closedBecause: string | undefined;
  private isStopping = false;
  private availabilityTimer: NodeJS.Timeout | undefined;
  private readonly byIeee = new Map<string, ZigbeeDevice>();
  private readonly lastAvailability = new Map<DeviceId, Availability>();
  private readonly configurator = new DeviceConfigurator();
  /** Frames to readings; made in `start()` once the converters are loaded. */
  private intake: MessageIntake | undefined;
  /** Reopens the coordinator with backoff (`options.reopen`). */
  private readonly reopen: Reopener;
  /**
   * The deCONZ driver's own link, when the open controller has one: that driver reconnects by itself and
   * cannot be replaced (deconz-link.ts), so a lost link is reported from there instead of reopening.
   */
  private readonly link: SelfReconnectingLinkFollower;

  constructor(
    private readonly options: ZigbeeOptions,
    deps: ZigbeeAdapterDeps = {},
  ) {
    this.reopen = new Reopener(options.reopen, deps.reopen);
    this.presence = new PortPresence(options.serialPort);
    this.link = new SelfReconnectingLinkFollower(options.serialPort, {
      down: (why) => this.onLinkDown(why),
      up: (was) => this.onLinkUp(was),
    });
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.ctx = ctx;
    ctx.setStatus('starting');
    try {
      this.zh = await import('zigbee-herdsman');
    } catch (e) {
      ctx.setStatus('unavailable', `zigbee-herdsman cannot be loaded: ${errorMessage(e)}`);
      return;
    }
    this.libraryLog = bridgeLibraryLogger(
      ctx.log.child({ component: 'zigbee-herdsman' }),
      () => !this.isOpen,
    );
    this.zh.setLogger(this.libraryLog);
    if (this.options.coordinator === 'deconz') await guardDeconzSocketClose(ctx.log);
    this.intake = new MessageIntake({
      ctx,
      zhc: () => this.converters(),
      deviceOf: (ieeeAddr) => this.byIeee.get(ieeeAddr),
      isStopping: () => this.isStopping,
      configure: (device) => this.configure(device),
    });
    try {
      await this.keepKeyFilesPrivate();
      this.network = await resolveNetworkSettings(this.options, ctx.stateDir, ctx.log);
    } catch (e) {
      ctx.setStatus('unavailable', errorMessage(e));
      return;
    }
    await this.open('unavailable');
    this.availabilityTimer = setInterval(
      () => this.refreshAvailability(),
      this.options.availability.checkIntervalMs,
    );
    this.availabilityTimer.unref();
    this.presence.watch(
      this.options.reopen.initialMs,
      () => this.isOpen && !this.isStopping,
      (why) => this.onDisconnected(why),
    );
    this.link.watch(this.options.reopen.initialMs, () => !this.isStopping && this.controller !== undefined);
  }

  async stop(): Promise<void> {
    this.isStopping = true;
    this.reopen.stop();
    clearInterval(this.availabilityTimer);
    this.link.stop();
    this.presence.stop();
    await this.closeController();
    await this.intake?.idle();
    this.ctx?.setStatus('stopped');
  }

  devices(): DeviceInfo[] {
    return [...this.byIeee.values()].map((d) => this.infoOf(d));
  }

  droppedFrames(): Record<string, number> {
    return this.intake?.droppedFrames() ?? {};
  }

  isReachable(id: DeviceId): boolean {
    const device = this.deviceById(id);
    return this.isOpen && device !== undefined && device.isAwake(this.now());
  }

  async execute(cmd: DeviceCommand, signal: AbortSignal): Promise<CommandResult> {
    const device = this.deviceById(cmd.device);
    if (device === undefined || this.ctx === undefined) {
      return { id: cmd.id, status: 'rejected', detail: `unknown device ${cmd.device}` };
    }
    return executeCommand(device, cmd, signal, {
      now: () => this.now(),
      isOpen: () => this.isOpen,
      stopSignal: this.ctx.signal,
    });
  }

  async permitJoin(seconds: number): Promise<void> {
    const controller = this.openController();
    await controller.permitJoin(seconds);
    this.ctx?.log.info(
      { seconds },
      seconds > 0 ? 'Zigbee pairing window opened.' : 'Zigbee pairing window closed.',
    );
  }

  async remove(id: DeviceId): Promise<void> {
    this.openController();
    const device = this.deviceById(id);
    if (device === undefined) return;
    try {
      await device.zh.removeFromNetwork();
    } catch (e) {
      // A device that is gone or asleep cannot be asked to leave; forget it anyway, as the operator asked.
      this.ctx?.log.warn(
        { device: id, err: errorMessage(e) },
        'The device did not confirm leaving; forgetting it.',
      );
      device.zh.removeFromDatabase();
    }
    this.forget(device.zh.ieeeAddr);
  }

  /**
   * Interviews a known device again (descriptors, genBasic identity), then identifies and configures it as
   * after a join: the way out of a failed or outdated interview without re-pairing. A sleepy device must be
   * awake (its button pressed) while this runs.
   * @throws FieldgateError `FG_NOT_FOUND` for an unknown device, `FG_ADAPTER_UNAVAILABLE` while the
   *   coordinator is closed, `FG_INTERVIEW_FAILED` when the device does not answer.
   */
  async interview(id: DeviceId): Promise<DeviceInfo> {
    this.openController();
    const device = this.deviceById(id);
    if (device === undefined) throw new FieldgateError('FG_NOT_FOUND', `no Zigbee device ${id}`);
    const ctx = this.ctx!;
    ctx.log.info({ device: id }, 'Re-interviewing the Zigbee device.');
    try {
      await device.zh.interview(true);
    } catch (e) {
      ctx.log.warn({ device: id, err: errorMessage(e) }, 'The Zigbee device re-interview failed.');
      this.announce(device);
      throw new FieldgateError(
        'FG_INTERVIEW_FAILED',
        `${id} did not answer its interview (${errorMessage(e)}); wake it (press a button) and try again`,
        { cause: e },
      );
    }
    // A new interview may reveal another definition: configure it afresh.
    delete device.zh.meta.fieldgateConfigured;
    this.configurator.forget(device.zh.ieeeAddr);
    await this.onInterview({ status: 'successful', device: device.zh });
    return this.infoOf(device);
  }

  /**
   * The operator's settings changed (a reload): a definition's exposes may depend on its converter options
   * (Gluon ST001's `expose_device_state` adds an on/off switch), so each identified device's exposes are
   * computed again with the options now in effect, and a device whose capabilities changed is announced.
   * Converter calls already read the options at each use.
   */
  settingsChanged(): void {
    for (const device of this.byIeee.values()) {
      const definition = device.definition;
      if (definition === undefined) continue;
      const before = JSON.stringify(device.properties);
      try {
        device.identify(definition, exposesOf(definition, device.zh, device.converterOptions()));
      } catch (e) {
        this.ctx?.log.warn(
          { device: device.id, err: errorMessage(e) },
          'The converter definition failed to list its exposes with the new options; keeping the old ones.',
        );
        continue;
      }
      if (JSON.stringify(device.properties) === before) continue;
      this.ctx?.log.info(
        { device: device.id },
        'Zigbee device capabilities changed with its converter options.',
      );
      this.announce(device);
    }
  }

  private now(): number {
    return this.ctx?.now() ?? Date.now();
  }

  private openController(): Controller {
    if (!this.isOpen || this.controller === undefined) {
      throw new FieldgateError(
        'FG_ADAPTER_UNAVAILABLE',
        this.closedBecause === undefined
          ? 'The Zigbee coordinator is not open.'
          : `The Zigbee coordinator is not open: ${this.closedBecause}.`,
      );
    }
    return this.controller;
  }

  private deviceById(id: DeviceId): ZigbeeDevice | undefined {
    const prefix = `${this.ctx?.name}:`;
    return id.startsWith(prefix) ? this.byIeee.get(id.slice(prefix.length)) : undefined;
  }

  private infoOf(device: ZigbeeDevice): DeviceInfo {
    return device.info(this.ctx!.name, this.now(), this.options.availability);
  }

  private announce(device: ZigbeeDevice): void {
    const info = this.infoOf(device);
    this.lastAvailability.set(info.id, info.availability);
    this.ctx?.deviceChanged(info);
  }

  private announceIfAvailabilityChanged(device: ZigbeeDevice): void {
    if (this.lastAvailability.get(device.id) !== this.infoOf(device).availability) this.announce(device);
  }

  // --- coordinator lifecycle -------------------------------------------------------------------------

  private createController(): Controller {
    return new this.zh!.Controller(controllerOptions(this.options, this.network!, this.ctx!.stateDir));
  }

  /** Opens the coordinator; on failure reports `failState` and schedules the next attempt. */
  private async open(failState: AdapterState): Promise<void> {
    const ctx = this.ctx!;
    const controller = this.createController();
    this.controller = controller;
    this.listen(controller);
    try {
      const result = await controller.start();
      if (this.isStopping) return;
      await this.presence.opened();
      if (this.options.coordinator === 'deconz') this.link.follow(controller);
      this.isOpen = true;
      this.closedBecause = undefined;
      this.reopen.succeeded();
      ctx.log.info({ result, coordinator: this.options.coordinator }, 'Zigbee coordinator open.');
      await this.keepKeyFilesPrivate();
      ctx.setStatus('running');
      await this.adoptAll(controller);
    } catch (e) {
      await this.closeController();
      const reason = (await serialPortProblem(this.options.serialPort)) ?? errorMessage(e);
      if (this.isStopping) return;
      this.closedBecause = `it cannot be opened: ${reason}`;
      ctx.setStatus(failState, `Zigbee coordinator cannot be opened: ${reason}`);
      this.scheduleReopen();
    }
  }

  private scheduleReopen(): void {
    this.reopen.retry(() => void this.open('degraded'));
  }

  private async closeController(): Promise<void> {
    const controller = this.controller;
    this.controller = undefined;
    this.isOpen = false;
    this.link.forget();
    if (controller === undefined) return;
    controller.removeAllListeners();
    try {
      await controller.stop();
    } catch (e) {
      this.ctx?.log.debug(
        { err: errorMessage(e) },
        'Zigbee controller stop failed; it is closed regardless.',
      );
    }
    // Otherwise a deCONZ driver lives on and keeps reopening the port (deconz-link.ts).
    if (this.options.coordinator === 'deconz') await retireDeconzDriver(controller);
    // Stopping writes a fresh coordinator backup.
    await this.keepKeyFilesPrivate();
  }

  /** The state dir 0700 and the key-bearing files in it 0600; logs what it had to fix. */
  private async keepKeyFilesPrivate(): Promise<void> {
    const ctx = this.ctx;
    if (ctx === undefined) return;
    try {
      const fixed = await keepKeyFilesPrivate(ctx.stateDir);
      if (fixed.length > 0) {
        ctx.log.info({ files: fixed }, 'Made the Zigbee key files private (0600, directory 0700).');
      }
    } catch (e) {
      ctx.log.warn(
        { err: errorMessage(e), dir: ctx.stateDir },
        'The Zigbee key files cannot be made private; check the state dir ownership.',
      );
    }
  }

  private onDisconnected(why = 'the serial link was lost'): void {
    if (this.isStopping || !this.isOpen) return;
    if (this.link.isFollowing) {
      this.link.wentDown(why);
      return;
    }
    this.isOpen = false;
    this.ctx!.log.warn({ why }, 'The Zigbee coordinator went away; reopening it with backoff.');
    this.closedBecause = `it disconnected (${why}); reopening with backoff`;
    this.ctx!.setStatus('degraded', `Zigbee coordinator disconnected: ${why}`);
    void this.closeController().then(() => {
      if (!this.isStopping) this.scheduleReopen();
    });
  }

  /** A followed (deCONZ) link dropped: `degraded` with the reason, commands and pairing refused. */
  private onLinkDown(why: string): void {
    this.isOpen = false;
    this.closedBecause = `it disconnected (${why}); the deCONZ driver reconnects every 5 s`;
    this.ctx!.log.warn({ why }, 'The Zigbee coordinator went away; the deCONZ driver is reconnecting.');
    this.ctx!.setStatus(
      'degraded',
      `Zigbee coordinator disconnected: ${why}; the deCONZ driver reconnects every 5 s`,
    );
  }

  /** The deCONZ driver reconnected: `running` again. */
  private onLinkUp(was: string): void {
    this.ctx!.log.info({ was }, 'The Zigbee coordinator is back (the deCONZ driver reconnected).');
    this.closedBecause = undefined;
    this.isOpen = true;
    this.ctx!.setStatus('running');
    // Commands the router held while the link was down go out now.
    for (const device of this.byIeee.values()) {
      if (device.isAwake(this.now())) this.ctx!.deviceAwake(device.id);
    }
  }

  private listen(controller: Controller): void {
    controller.on('adapterDisconnected', () => this.onDisconnected());
    controller.on('deviceJoined', ({ device }) => {
      this.ctx!.log.info({ device: device.ieeeAddr }, 'A Zigbee device joined; interviewing it.');
      this.announce(this.adopt(device));
    });
    controller.on('deviceInterview', (event) => void this.onInterview(event));
    controller.on('deviceLeave', ({ ieeeAddr }) => this.forget(ieeeAddr));
    controller.on('deviceAnnounce', ({ device }) => void this.onAnnounce(device));
    controller.on('lastSeenChanged', ({ device }) => this.onHeard(device));
    controller.on('message', (message) => this.intake?.receive(message));
  }

  // --- devices ---------------------------------------------------------------------------------------

  /** Tracks a herdsman device, replacing the model of one already known (after a reopen). */
  private adopt(zh: Models.Device): ZigbeeDevice {
    // herdsman would otherwise queue requests for sleepy devices and send them at a later check-in, past
    // the command's TTL; the gateway's command router holds them instead and knows their TTL.
    zh.pendingRequestTimeout = 0;
    const known = this.byIeee.get(zh.ieeeAddr);
    if (known !== undefined) {
      known.zh = zh;
      return known;
    }
    const ctx = this.ctx!;
    const device = new ZigbeeDevice(ctx.name, zh, (id) => ctx.deviceSettings?.(id));
    this.byIeee.set(zh.ieeeAddr, device);
    return device;
  }

  private async adoptAll(controller: Controller): Promise<void> {
    for (const zh of controller.getDevicesIterator((d) => d.type !== 'Coordinator')) {
      const device = this.adopt(zh);
      // herdsman exports InterviewState only as a type, so its value is compared as the string it is.
      if ((zh.interviewState as string) === 'SUCCESSFUL') {
        await this.identify(device);
        await this.notify(device, 'start');
      }
      this.announce(device);
    }
  }

  /** The converters, loaded on first use: their import alone costs ~13 MiB of RSS (docs/radios.md). */
  private converters(): Promise<ZhcModule> {
    this.zhcLoading ??= import('zigbee-herdsman-converters').then((zhc) => {
      if (this.libraryLog !== undefined) zhc.setLogger(this.libraryLog);
      return zhc;
    });
    return this.zhcLoading;
  }

  private async identify(device: ZigbeeDevice): Promise<void> {
    try {
      const zhc = await this.converters();
      // `true`: a device no definition knows gets one generated from its clusters, so it still reports.
      const definition = await zhc.findByDevice(device.zh, true);
      device.identify(definition, exposesOf(definition, device.zh, device.converterOptions()));
    } catch (e) {
      this.ctx!.log.warn(
        { device: device.id, err: errorMessage(e) },
        'No converter definition for the device.',
      );
      device.identify(undefined, []);
    }
  }

  private async notify(device: ZigbeeDevice, type: DeviceEventType): Promise<void> {
    try {
      await notifyDeviceEvent(await this.converters(), device, type);
    } catch (e) {
      this.ctx!.log.warn(
        { device: device.id, event: type, err: errorMessage(e) },
        'A converter failed on a device event.',
      );
    }
  }

  private async onInterview({ status, device: zh }: Events.DeviceInterviewPayload): Promise<void> {
    if (status === 'started') return;
    const device = this.adopt(zh);
    if (status === 'failed') {
      this.ctx!.log.warn(
        { device: device.id },
        'The Zigbee device interview failed; it will be retried when it rejoins.',
      );
      this.announce(device);
      return;
    }
    await this.identify(device);
    // 'start' is when a definition takes charge of a device: it registers manufacturer clusters that
    // configure and the converters need, for a newly joined device as much as at startup.
    await this.notify(device, 'start');
    await this.notify(device, 'deviceInterview');
    const { vendor, model } = device.definition ?? {};
    this.ctx!.log.info({ device: device.id, vendor, model }, 'Zigbee device interviewed and identified.');
    await this.configure(device);
    this.announce(device);
  }

  /**
   * A device re-announced itself (power cycle, rejoin): the converters are told, as zigbee2mqtt does —
   * IKEA bulbs get their reporting restored, Tuya devices are asked for their data points.
   */
  private async onAnnounce(zh: Models.Device): Promise<void> {
    const device = this.byIeee.get(zh.ieeeAddr);
    if (device === undefined || device.definition === undefined) return;
    this.ctx!.log.debug({ device: device.id }, 'A Zigbee device announced itself.');
    await this.notify(device, 'deviceAnnounce');
  }

  /** Bindings and reporting, as the definition prescribes. */
  private async configure(device: ZigbeeDevice): Promise<void> {
    const coordinator = this.controller?.getDevicesByType('Coordinator')[0]?.getEndpoint(1);
    if (coordinator !== undefined) await this.configurator.configure(device, coordinator, this.ctx!.log);
  }

  private forget(ieeeAddr: string): void {
    const device = this.byIeee.get(ieeeAddr);
    if (device === undefined) return;
    this.byIeee.delete(ieeeAddr);
    this.lastAvailability.delete(device.id);
    this.ctx!.log.info({ device: device.id }, 'The Zigbee device left the network.');
    this.ctx!.deviceRemoved(device.id);
  }

  private onHeard(zh: Models.Device): void {
    const device = this.byIeee.get(zh.ieeeAddr);
    if (device === undefined) return;
    if (device.heard(this.now(), this.options.awakeWindowMs)) this.ctx!.deviceAwake(device.id);
    this.announceIfAvailabilityChanged(device);
  }

  private refreshAvailability(): void {
    const now = this.now();
    let pings = 0;
    for (const device of this.byIeee.values()) {
      if (
        this.isOpen &&
        pings < MAX_PINGS_PER_CHECK &&
        needsPing(device.availabilityFacts(now), this.options.availability, now, device.pingedAt)
      ) {
        pings += 1;
        this.ping(device, now);
      }
      this.announceIfAvailabilityChanged(device);
    }
  }

  /** Pings a silent mains device; an unanswered ping makes it offline (zigbee2mqtt's availability). */
  private ping(device: ZigbeeDevice, now: number): void {
    device.pingedAt = now;
    device.zh
      .ping()
      .then(() => this.onHeard(device.zh))
      .catch((e: unknown) => {
        device.pingFailedAt = this.now();
        this.ctx?.log.debug(
          { device: device.id, err: errorMessage(e) },
          'A Zigbee availability ping failed.',
        );
        this.announceIfAvailabilityChanged(device);
      });
  }
}
