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
import { exposesOf, notifyDeviceEvent, type DeviceEventType, type ZhcModule } from './converters.js';
import { executeCommand } from './execute-command.js';
import { bridgeLibraryLogger } from './library-logger.js';
import { resolveNetworkSettings, type NetworkSettings } from './network-settings.js';
import { keepKeyFilesPrivate } from './private-files.js';
import { serialPortProblem } from './serial-port-problem.js';
import type { ZigbeeOptions } from './options.js';
import { controllerOptions } from './controller-options.js';
import { DeviceConfigurator } from './device-configurator.js';
import { MessageIntake } from './message-intake.js';
import { ZigbeeDevice } from './zigbee-device.js';

type HerdsmanModule = typeof Herdsman;

export interface ZigbeeAdapterDeps {
  /** The reopen loop's jitter and timer; default `Math.random` and a Node timer. */
  reopen?: ReopenerDeps;
}

/**
 * The Zigbee radio: a zigbee-herdsman `Controller` for the network, zigbee-herdsman-converters for what
 * devices mean. Both load lazily in `start()`. A coordinator that cannot be opened or goes away makes the
 * adapter `unavailable` / `degraded` and is reopened with backoff; nothing here ends the process.
 *
 * herdsman keeps its device cache in module statics, so one process runs one Zigbee adapter.
 */
export class ZigbeeAdapter implements Adapter {
  private ctx: AdapterContext | undefined;
  private zh: HerdsmanModule | undefined;
  private zhc: ZhcModule | undefined;
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

  constructor(
    private readonly options: ZigbeeOptions,
    deps: ZigbeeAdapterDeps = {},
  ) {
    this.reopen = new Reopener(options.reopen, deps.reopen);
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.ctx = ctx;
    ctx.setStatus('starting');
    try {
      [this.zh, this.zhc] = await Promise.all([
        import('zigbee-herdsman'),
        import('zigbee-herdsman-converters'),
      ]);
    } catch (e) {
      ctx.setStatus('unavailable', `zigbee-herdsman cannot be loaded: ${errorMessage(e)}`);
      return;
    }
    const libraryLog = bridgeLibraryLogger(
      ctx.log.child({ component: 'zigbee-herdsman' }),
      () => !this.isOpen,
    );
    this.zh.setLogger(libraryLog);
    this.zhc.setLogger(libraryLog);
    this.intake = new MessageIntake({
      ctx,
      zhc: this.zhc,
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
  }

  async stop(): Promise<void> {
    this.isStopping = true;
    this.reopen.stop();
    clearInterval(this.availabilityTimer);
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

  private onDisconnected(): void {
    if (this.isStopping || !this.isOpen) return;
    this.ctx!.log.warn('The Zigbee coordinator went away; reopening it with backoff.');
    this.closedBecause = 'it disconnected; reopening with backoff';
    this.ctx!.setStatus('degraded', 'Zigbee coordinator disconnected');
    void this.closeController().then(() => {
      if (!this.isStopping) this.scheduleReopen();
    });
  }

  private listen(controller: Controller): void {
    controller.on('adapterDisconnected', () => this.onDisconnected());
    controller.on('deviceJoined', ({ device }) => {
      this.ctx!.log.info({ device: device.ieeeAddr }, 'A Zigbee device joined; interviewing it.');
      this.announce(this.adopt(device));
    });
    controller.on('deviceInterview', (event) => void this.onInterview(event));
    controller.on('deviceLeave', ({ ieeeAddr }) => this.forget(ieeeAddr));
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
    const device = new ZigbeeDevice(this.ctx!.name, zh);
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

  private async identify(device: ZigbeeDevice): Promise<void> {
    try {
      // `true`: a device no definition knows gets one generated from its clusters, so it still reports.
      const definition = await this.zhc!.findByDevice(device.zh, true);
      device.identify(definition, exposesOf(definition, device.zh));
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
      await notifyDeviceEvent(this.zhc!, device, type);
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
    if (this.lastAvailability.get(device.id) !== this.infoOf(device).availability) this.announce(device);
  }

  private refreshAvailability(): void {
    for (const device of this.byIeee.values()) {
      if (this.lastAvailability.get(device.id) !== this.infoOf(device).availability) this.announce(device);
    }
  }
}
