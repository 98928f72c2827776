import { EventEmitter } from 'node:events';
import { Zcl, Zdo, ZSpec } from 'zigbee-herdsman';

/**
 * A Zigbee device on the fake air: endpoints, clusters and attribute values, answering ZDO descriptor
 * requests and global ZCL read / write / configure-reporting like a real node, and genOnOff commands
 * like a real plug. Everything it exchanges is raw bytes: requests are parsed with herdsman's own ZCL
 * parser, answers are serialised with herdsman's own ZCL serialiser or written by hand (ZDO).
 */

export interface VirtualEndpoint {
  id: number;
  profileId?: number;
  deviceId: number;
  inClusters: number[];
  outClusters: number[];
  /** Cluster name → attribute name → value. */
  attributes: Record<string, Record<string, unknown>>;
}

export interface VirtualDeviceSpec {
  ieeeAddr: string;
  networkAddress: number;
  manufacturerCode: number;
  /** ZDO logical type: 0 coordinator, 1 router, 2 end device. */
  logicalType: 0 | 1 | 2;
  endpoints: VirtualEndpoint[];
}

/** One ZCL frame the device received, parsed. */
export interface ReceivedFrame {
  endpoint: number;
  cluster: string;
  command: string;
  payload: unknown;
}

/** Emitted as `tx`: a frame the device sends of its own accord. */
export interface DeviceTransmission {
  endpoint: number;
  clusterId: number;
  data: Buffer;
}

const u16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];

export class VirtualDevice extends EventEmitter<{ tx: [DeviceTransmission] }> {
  readonly received: ReceivedFrame[] = [];
  private tsn = 100;

  constructor(readonly spec: VirtualDeviceSpec) {
    super();
  }

  get ieeeAddr(): string {
    return this.spec.ieeeAddr;
  }

  get networkAddress(): number {
    return this.spec.networkAddress;
  }

  private endpoint(id: number): VirtualEndpoint | undefined {
    return this.spec.endpoints.find((e) => e.id === id);
  }

  /** Answers a ZDO request (raw, ZDO sequence number first) with raw response bytes, or undefined. */
  answerZdo(clusterId: Zdo.ClusterId, request: Buffer): Buffer | undefined {
    const tsn = request[0] ?? 0;
    const ok = Zdo.Status.SUCCESS;
    const nwk = u16(this.spec.networkAddress);
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- a device answers only the few requests herdsman sends it; the rest time out, as on air
    switch (clusterId) {
      case Zdo.ClusterId.NODE_DESCRIPTOR_REQUEST: {
        const isEndDevice = this.spec.logicalType === 2;
        // Byte 2: logical type; MAC capabilities: 0x80 allocate-address only (sleepy), 0x8e router.
        const macCapabilities = isEndDevice ? 0x80 : 0x8e;
        return Buffer.from([
          tsn,
          ok,
          ...nwk,
          this.spec.logicalType,
          0x40,
          macCapabilities,
          ...u16(this.spec.manufacturerCode),
          0x52,
          ...u16(0x52),
          ...u16(0x2c00),
          ...u16(0x52),
          0,
        ]);
      }
      case Zdo.ClusterId.ACTIVE_ENDPOINTS_REQUEST:
        return Buffer.from([
          tsn,
          ok,
          ...nwk,
          this.spec.endpoints.length,
          ...this.spec.endpoints.map((e) => e.id),
        ]);
      case Zdo.ClusterId.SIMPLE_DESCRIPTOR_REQUEST: {
        const e = this.endpoint(request[3] ?? 0);
        if (e === undefined) return Buffer.from([tsn, Zdo.Status.NOT_ACTIVE, ...nwk, 0]);
        const body = [
          e.id,
          ...u16(e.profileId ?? ZSpec.HA_PROFILE_ID),
          ...u16(e.deviceId),
          1,
          e.inClusters.length,
          ...e.inClusters.flatMap(u16),
          e.outClusters.length,
          ...e.outClusters.flatMap(u16),
        ];
        return Buffer.from([tsn, ok, ...nwk, body.length, ...body]);
      }
      case Zdo.ClusterId.BIND_REQUEST:
      case Zdo.ClusterId.UNBIND_REQUEST:
      case Zdo.ClusterId.LEAVE_REQUEST:
        return Buffer.from([tsn, ok]);
      default:
        return undefined;
    }
  }

  /** Receives a ZCL frame (raw bytes) and returns the raw response frame, if the device sends one. */
  receiveZcl(endpointId: number, clusterId: number, data: Buffer): Buffer | undefined {
    const header = Zcl.Header.fromBuffer(data)!;
    let frame: Zcl.Frame;
    try {
      frame = Zcl.Frame.fromBuffer(clusterId, header, data, {});
    } catch {
      // A manufacturer-specific command herdsman's standard clusters do not define: the real device knows
      // its own commands, so it accepts it; the test sees its id and raw bytes.
      const cluster = Zcl.Utils.getCluster(clusterId).name;
      this.received.push({
        endpoint: endpointId,
        cluster,
        command: `0x${header.commandIdentifier.toString(16)}`,
        payload: data.toString('hex'),
      });
      return this.defaultResponse(clusterId, header);
    }
    const attributes = (this.endpoint(endpointId)!.attributes[frame.cluster.name] ??= {});
    this.received.push({
      endpoint: endpointId,
      cluster: frame.cluster.name,
      command: frame.command.name,
      payload: frame.payload,
    });
    const reply = (command: string, payload: unknown): Buffer =>
      Zcl.Frame.create(
        Zcl.FrameType.GLOBAL,
        Zcl.Direction.SERVER_TO_CLIENT,
        true,
        header.manufacturerCode,
        header.transactionSequenceNumber,
        command,
        clusterId,
        payload,
        {},
      ).toBuffer();
    if (header.isGlobal) {
      const attribute = (id: number) =>
        Zcl.Utils.getClusterAttribute(frame.cluster, id, header.manufacturerCode);
      switch (frame.command.name) {
        case 'read':
          return reply(
            'readRsp',
            (frame.payload as { attrId: number }[]).map(({ attrId }) => {
              const a = attribute(attrId);
              return a !== undefined && attributes[a.name] !== undefined
                ? { attrId, status: Zcl.Status.SUCCESS, dataType: a.type, attrData: attributes[a.name] }
                : { attrId, status: Zcl.Status.UNSUPPORTED_ATTRIBUTE };
            }),
          );
        case 'write':
          for (const { attrId, attrData } of frame.payload as { attrId: number; attrData: unknown }[]) {
            const a = attribute(attrId);
            if (a !== undefined) attributes[a.name] = attrData;
          }
          return reply('writeRsp', [{ status: Zcl.Status.SUCCESS }]);
        case 'configReport':
          return reply(
            'configReportRsp',
            (frame.payload as { attrId: number }[]).map(({ attrId }) => ({
              status: Zcl.Status.SUCCESS,
              direction: 0,
              attrId,
            })),
          );
      }
    } else if (frame.cluster.name === 'genOnOff' && ['on', 'off', 'toggle'].includes(frame.command.name)) {
      const isOn = frame.command.name === 'toggle' ? attributes.onOff !== 1 : frame.command.name === 'on';
      attributes.onOff = isOn ? 1 : 0;
      // Real plugs confirm a switch with an attribute report right after the default response.
      setImmediate(() => this.report(endpointId, 'genOnOff', { onOff: attributes.onOff }));
    }
    return this.defaultResponse(clusterId, header);
  }

  private defaultResponse(clusterId: number, header: Zcl.Header): Buffer | undefined {
    if (header.frameControl.disableDefaultResponse) return undefined;
    return Zcl.Frame.create(
      Zcl.FrameType.GLOBAL,
      Zcl.Direction.SERVER_TO_CLIENT,
      true,
      header.manufacturerCode,
      header.transactionSequenceNumber,
      'defaultRsp',
      clusterId,
      { cmdId: header.commandIdentifier, statusCode: Zcl.Status.SUCCESS },
      {},
    ).toBuffer();
  }

  /** Sends an attribute report built by herdsman's serialiser; the device's own values change first. */
  report(endpointId: number, clusterName: string, values: Record<string, unknown>): void {
    const cluster = Zcl.Utils.getCluster(clusterName);
    Object.assign((this.endpoint(endpointId)!.attributes[cluster.name] ??= {}), values);
    const payload = Object.entries(values).map(([name, attrData]) => {
      const a = Zcl.Utils.getClusterAttribute(cluster, name, undefined)!;
      return { attrId: a.ID, dataType: a.type, attrData };
    });
    this.sendFrame(
      endpointId,
      cluster.ID,
      Zcl.Frame.create(
        Zcl.FrameType.GLOBAL,
        Zcl.Direction.SERVER_TO_CLIENT,
        true,
        undefined,
        this.nextTsn(),
        'report',
        cluster.ID,
        payload,
        {},
      ).toBuffer(),
    );
  }

  /** A genPollCtrl check-in: what a sleepy device sends when it wakes on schedule. */
  checkIn(endpointId: number): void {
    this.sendFrame(
      endpointId,
      Zcl.Clusters.genPollCtrl.ID,
      Zcl.Frame.create(
        Zcl.FrameType.SPECIFIC,
        Zcl.Direction.SERVER_TO_CLIENT,
        false,
        undefined,
        this.nextTsn(),
        'checkin',
        'genPollCtrl',
        {},
        {},
      ).toBuffer(),
    );
  }

  /** Sends raw, pre-built ZCL bytes (a captured frame, or a malformed one). */
  sendFrame(endpoint: number, clusterId: number, data: Buffer): void {
    this.emit('tx', { endpoint, clusterId, data });
  }

  private nextTsn(): number {
    this.tsn = (this.tsn + 1) & 0xff;
    return this.tsn;
  }
}
