import net from 'node:net';
import { Zcl, Zdo, ZSpec } from 'zigbee-herdsman';
import type { AdapterTypes, AdapterEvents } from 'zigbee-herdsman';
import { Adapter, type ClusterWaitressMatcher } from 'zigbee-herdsman/dist/adapter/adapter.js';
import { VirtualDevice, type DeviceTransmission } from './virtual-device.js';

/**
 * A fake at herdsman's lowest practical seam: its abstract `Adapter` (what ember / zstack / zoh implement
 * over a serial port). The Controller, interview, database, request queue and ZCL (de)serialisation above
 * it are the real library; below it is a shared "air" of `VirtualDevice`s.
 */

const COORDINATOR_IEEE = '0x00124b00fe1d0001';

/** An outgoing frame, as herdsman serialised it. */
export interface SentFrame {
  kind: 'zdo' | 'zcl';
  to: number;
  clusterId: number;
  cluster?: string;
  command?: string;
  endpoint?: number;
  hex?: string;
}

interface Waiter {
  matcher: ClusterWaitressMatcher;
  resolve: (payload: AdapterEvents.ZclPayload) => void;
  timer: NodeJS.Timeout;
}

export class FakeCoordinator extends Adapter {
  readonly sent: SentFrame[] = [];
  /**
   * Present only for a `deconz` coordinator: what herdsman's deCONZ driver exposes as `driver.started()` —
   * whether its link to the firmware is up.
   */
  readonly driver: { started(): boolean } | undefined;
  /** `tcp://host:port`: the coordinator's link is a real TCP connection (see `start`). */
  private readonly tcp: { host: string; port: number } | undefined;
  private socket: net.Socket | undefined;
  private isLinkUp = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly attached = new Map<VirtualDevice, (tx: DeviceTransmission) => void>();
  /** The coordinator's own node: herdsman interviews it too (descriptors of its endpoints). */
  private readonly self = new VirtualDevice({
    ieeeAddr: COORDINATOR_IEEE,
    networkAddress: ZSpec.COORDINATOR_ADDRESS,
    manufacturerCode: Zcl.ManufacturerCode.SILICON_LABORATORIES,
    logicalType: 0,
    endpoints: [
      {
        id: 1,
        deviceId: 0x0005,
        inClusters: [0x0000, 0x0006, 0x000a, 0x0019],
        outClusters: [0x0000, 0x0003, 0x0006, 0x0008, 0x0020, 0x0201, 0x0402, 0x0405],
        attributes: {},
      },
      {
        id: 242,
        profileId: ZSpec.GP_PROFILE_ID,
        deviceId: 0x0064,
        inClusters: [],
        outClusters: [0x0021],
        attributes: {},
      },
    ],
  });

  constructor(
    private readonly air: FakeAir,
    networkOptions: AdapterTypes.NetworkOptions,
    serialPortOptions: AdapterTypes.SerialPortOptions,
    backupPath: string,
    adapterOptions: AdapterTypes.AdapterOptions,
  ) {
    super(networkOptions, serialPortOptions, backupPath, adapterOptions);
    // ZDO payloads carry the ZDO sequence number in their first byte, as with ember and zoh.
    this.hasZdoMessageOverhead = true;
    this.manufacturerID = Zcl.ManufacturerCode.SILICON_LABORATORIES;
    const tcp = /^tcp:\/\/([^:/]+):(\d+)$/i.exec(serialPortOptions.path ?? '');
    this.tcp = tcp === null ? undefined : { host: tcp[1]!, port: Number(tcp[2]) };
    // herdsman's deCONZ driver reconnects by itself: over TCP when the box is back, over serial when the
    // stick is plugged in again.
    this.driver =
      serialPortOptions.adapter !== 'deconz'
        ? undefined
        : this.tcp !== undefined
          ? { started: () => this.isLinkUp }
          : { started: () => this.air.isCoordinatorPresent && !this.isStopped };
  }

  /**
   * Opens the TCP link to the coordinator box and, when it closes, does what herdsman 10.9.5's driver for
   * this coordinator type does (node_modules/zigbee-herdsman/dist/adapter/…): ember (ASH `onPortClose` →
   * `fatalError` → `disconnected`), zstack (znp `close` → `disconnected`), zboss, zigate and zoh report
   * `disconnected`; deCONZ reports nothing and reconnects by itself every `air.deconzReconnectMs` (its
   * driver's `WaitToReconnect` state, 5 s), `driver.started()` false meanwhile.
   */
  private connect(): Promise<void> {
    const { host, port } = this.tcp!;
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        this.socket = socket;
        this.isLinkUp = true;
        socket.once('close', () => this.onLinkClosed());
        resolve();
      });
      let isConnected = false;
      socket.once('connect', () => (isConnected = true));
      socket.on('error', (e) => {
        if (!isConnected) reject(new Error(`Error while opening socket: ${e.message}`));
      });
    });
  }

  private onLinkClosed(): void {
    this.isLinkUp = false;
    this.socket = undefined;
    if (this.isStopped) return;
    if (this.driver === undefined) {
      this.emit('disconnected');
      return;
    }
    const retry = (): void => {
      this.reconnectTimer = setTimeout(() => {
        if (this.isStopped) return;
        this.connect().catch(retry);
      }, this.air.deconzReconnectMs);
    };
    retry();
  }

  /** Puts a device in radio range of this coordinator. */
  attach(device: VirtualDevice): void {
    if (this.attached.has(device)) return;
    const listener = (tx: DeviceTransmission): void =>
      this.deliver(device, tx.endpoint, tx.clusterId, tx.data);
    device.on('tx', listener);
    this.attached.set(device, listener);
  }

  /** The device announces itself after joining: herdsman then interviews it through this adapter. */
  join(device: VirtualDevice): void {
    this.air.devices.set(device.ieeeAddr, device);
    this.attach(device);
    this.emit('deviceJoined', { networkAddress: device.networkAddress, ieeeAddr: device.ieeeAddr });
  }

  /** The device announces itself again, as after a power cycle (ZDO Device_annce). */
  announce(device: VirtualDevice): void {
    this.emit('zdoResponse', Zdo.ClusterId.END_DEVICE_ANNOUNCE, [
      Zdo.Status.SUCCESS,
      {
        nwkAddress: device.networkAddress,
        eui64: device.ieeeAddr,
        capabilities: Zdo.Utils.getMacCapFlags(device.spec.logicalType === 2 ? 0x80 : 0x8e),
      },
    ] as never);
  }

  /** The serial link breaks (USB stick pulled, TCP bridge gone). */
  unplug(): void {
    this.emit('disconnected');
  }

  private deliver(device: VirtualDevice, endpoint: number, clusterID: number, data: Buffer): void {
    const payload: AdapterEvents.ZclPayload = {
      clusterID,
      address: device.networkAddress,
      header: Zcl.Header.fromBuffer(data),
      data,
      endpoint,
      linkquality: 180,
      groupID: 0,
      wasBroadcast: false,
      destinationEndpoint: 1,
    };
    setImmediate(() => {
      for (const w of this.waiters) {
        if (
          payload.header !== undefined &&
          Adapter.zclWaitressValidator({ ...payload, header: payload.header }, w.matcher)
        ) {
          this.waiters.delete(w);
          clearTimeout(w.timer);
          w.resolve(payload);
        }
      }
      this.emit('zclPayload', payload);
    });
  }

  private byNetworkAddress(nwk: number): VirtualDevice | undefined {
    if (nwk === ZSpec.COORDINATOR_ADDRESS) return this.self;
    return [...this.air.devices.values()].find((d) => d.networkAddress === nwk);
  }

  async start(): Promise<AdapterTypes.StartResult> {
    if (!this.air.isCoordinatorPresent) throw new Error('Failed to open /dev/ttyFAKE: no such device');
    if (this.tcp !== undefined) await this.connect();
    for (const device of this.air.devices.values()) this.attach(device);
    return 'resumed';
  }
  /** True once herdsman stopped this coordinator (closed its port). */
  isStopped = false;

  stop(): Promise<void> {
    this.isStopped = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters.clear();
    for (const [device, listener] of this.attached) device.off('tx', listener);
    this.attached.clear();
    return Promise.resolve();
  }
  getCoordinatorIEEE(): Promise<string> {
    return Promise.resolve(COORDINATOR_IEEE);
  }
  getCoordinatorVersion(): Promise<AdapterTypes.CoordinatorVersion> {
    return Promise.resolve({ type: 'FakeCoordinator', meta: {} });
  }
  reset(): Promise<void> {
    return Promise.resolve();
  }
  supportsBackup(): Promise<boolean> {
    return Promise.resolve(false);
  }
  backup(): Promise<never> {
    return Promise.reject(new Error('backup is not supported'));
  }
  getNetworkParameters(): Promise<AdapterTypes.NetworkParameters> {
    const { panID, extendedPanID, channelList } = this.networkOptions;
    return Promise.resolve({
      panID,
      extendedPanID: `0x${Buffer.from(extendedPanID ?? []).toString('hex')}`,
      channel: channelList[0]!,
      nwkUpdateID: 0,
    });
  }
  addInstallCode(): Promise<void> {
    return Promise.resolve();
  }
  permitJoin(seconds: number): Promise<void> {
    this.air.permitJoinSeconds = seconds;
    return Promise.resolve();
  }
  setChannelInterPAN(): Promise<void> {
    return Promise.resolve();
  }
  sendZclFrameInterPANToIeeeAddr(): Promise<void> {
    return Promise.resolve();
  }
  sendZclFrameInterPANBroadcast(): Promise<never> {
    return Promise.reject(new Error('inter-PAN is not simulated'));
  }
  restoreChannelInterPAN(): Promise<void> {
    return Promise.resolve();
  }
  sendZclFrameToGroup(): Promise<void> {
    return Promise.resolve();
  }
  sendZclFrameToAll(): Promise<void> {
    return Promise.resolve();
  }

  waitFor(
    networkAddress: number,
    endpoint: number,
    _frameType: Zcl.FrameType,
    _direction: Zcl.Direction,
    transactionSequenceNumber: number | undefined,
    clusterId: number,
    commandId: number,
    _defaultRsp: number | undefined,
    timeout: number,
  ): { promise: Promise<AdapterEvents.ZclPayload>; cancel: () => void } {
    let waiter: Waiter | undefined;
    const promise = new Promise<AdapterEvents.ZclPayload>((resolve, reject) => {
      const matcher: ClusterWaitressMatcher = {
        address: networkAddress,
        endpoint,
        clusterId,
        commandId,
        ...(transactionSequenceNumber === undefined ? {} : { transactionSequenceNumber }),
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter!);
        reject(new Error(Adapter.clusterWaitressTimeoutFormatter(matcher, timeout)));
      }, timeout);
      const created: Waiter = { matcher, resolve, timer };
      waiter = created;
      this.waiters.add(created);
    });
    return {
      promise,
      cancel: () => {
        clearTimeout(waiter!.timer);
        this.waiters.delete(waiter!);
      },
    };
  }

  sendZdo(
    _ieee: string,
    networkAddress: number,
    clusterId: Zdo.ClusterId,
    payload: Buffer,
    disableResponse: boolean,
  ): Promise<never> {
    this.sent.push({ kind: 'zdo', to: networkAddress, clusterId });
    if (this.tcp !== undefined && !this.isLinkUp) {
      return Promise.reject(new Error('the link to the coordinator is down'));
    }
    const target = this.byNetworkAddress(networkAddress);
    if (target !== undefined && !this.air.isInRange(target)) {
      return Promise.reject(new Error(`ZDO ${clusterId} to 0x${networkAddress.toString(16)}: no route`));
    }
    const raw = target?.answerZdo(clusterId, payload);
    if (disableResponse) return Promise.resolve(undefined as never);
    const responseId = Zdo.Utils.getResponseClusterId(clusterId);
    if (raw === undefined || responseId === undefined) {
      return Promise.reject(new Error(`ZDO ${clusterId} to 0x${networkAddress.toString(16)}: no response`));
    }
    const response = Zdo.Buffalo.readResponse(this.hasZdoMessageOverhead, responseId, raw);
    this.emit('zdoResponse', responseId, response);
    return Promise.resolve(response as never);
  }

  async sendZclFrameToEndpoint(
    _ieee: string,
    networkAddress: number,
    endpoint: number,
    zclFrame: Zcl.Frame,
    timeout: number,
    disableResponse: boolean,
  ): Promise<AdapterEvents.ZclPayload | undefined> {
    const bytes = zclFrame.toBuffer();
    this.sent.push({
      kind: 'zcl',
      to: networkAddress,
      endpoint,
      clusterId: zclFrame.cluster.ID,
      cluster: zclFrame.cluster.name,
      command: zclFrame.command.name,
      hex: bytes.toString('hex'),
    });
    if (this.tcp !== undefined && !this.isLinkUp) throw new Error('the link to the coordinator is down');
    if (networkAddress === ZSpec.COORDINATOR_ADDRESS) return undefined;
    const device = this.byNetworkAddress(networkAddress);
    if (device === undefined || !this.air.isInRange(device)) {
      throw new Error(`Delivery failed for 0x${networkAddress.toString(16)}: no route`);
    }
    // Which answer to wait for, by the same rule herdsman's real adapters apply.
    const commandResponseId =
      zclFrame.command.response !== undefined && !disableResponse
        ? zclFrame.command.response
        : zclFrame.header.frameControl.disableDefaultResponse
          ? undefined
          : Zcl.Foundation.defaultRsp.ID;
    const wait =
      commandResponseId === undefined
        ? undefined
        : this.waitFor(
            networkAddress,
            endpoint,
            zclFrame.header.frameControl.frameType,
            Zcl.Direction.SERVER_TO_CLIENT,
            zclFrame.header.transactionSequenceNumber,
            zclFrame.cluster.ID,
            commandResponseId,
            undefined,
            timeout,
          );
    setImmediate(() => {
      const response = device.receiveZcl(endpoint, zclFrame.cluster.ID, bytes);
      if (response !== undefined) this.deliver(device, endpoint, zclFrame.cluster.ID, response);
    });
    return wait === undefined ? undefined : await wait.promise;
  }
}

/**
 * The radio environment shared by every coordinator a test's Controller creates (one per reopen): which
 * devices exist, whether the coordinator is plugged in, and what the current coordinator sent.
 */
export class FakeAir {
  readonly devices = new Map<string, VirtualDevice>();
  isCoordinatorPresent = true;
  permitJoinSeconds = 0;
  /** How often a deCONZ coordinator on `tcp://` retries a lost link (herdsman's driver: 5 s). */
  deconzReconnectMs = 5000;
  /** Devices that are out of range (powered off): frames to them fail to deliver. */
  readonly unreachable = new Set<VirtualDevice>();
  coordinators: FakeCoordinator[] = [];

  get coordinator(): FakeCoordinator {
    const current = this.coordinators.at(-1);
    if (current === undefined) throw new Error('no coordinator was created yet');
    return current;
  }

  isInRange(device: VirtualDevice): boolean {
    return !this.unreachable.has(device);
  }
}

/** Makes `Controller.start()` get a `FakeCoordinator` instead of probing a serial port. */
export function installFakeAir(): { air: FakeAir; restore: () => void } {
  const air = new FakeAir();
  const original = Adapter.create.bind(Adapter);
  Adapter.create = (network, serialPort, backupPath, options) => {
    const coordinator = new FakeCoordinator(air, network, serialPort, backupPath, options);
    air.coordinators.push(coordinator);
    return Promise.resolve(coordinator);
  };
  return {
    air,
    restore: () => {
      Adapter.create = original;
    },
  };
}
