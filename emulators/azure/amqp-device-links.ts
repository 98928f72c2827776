import { randomUUID } from 'node:crypto';
import rhea, { type Connection, type Delivery, type Message, type Sender } from 'rhea';
import type { Logger } from '../../src/logger.js';
import {
  correlationKey,
  dataSection,
  DESIRED_RESOURCE,
  METHOD_NAME_PROPERTY,
  METHOD_STATUS_PROPERTY,
  REPORTED_RESOURCE,
  TWIN_OPERATION,
  TWIN_RESOURCE,
  TWIN_STATUS,
  TWIN_VERSION,
  type DeviceChannelKind,
} from '../../src/upstream/azure/protocol/amqp-device-channels.js';
import { bodyOf } from '../../src/upstream/azure/protocol/amqp-message.js';
import { parsePatch, TwinPatchError, type DesiredPatch, type TwinStore } from './twin-store.js';

/** A hub → device link of one device on one connection. */
interface Outbound {
  sender: Sender;
  deviceId: string;
  kind: DeviceChannelKind;
  /** Twin links: the device asked for desired patches (PUT on the desired resource). */
  wantsDesired: boolean;
}

export interface MethodReply {
  status: number;
  payload: Buffer;
}

/**
 * The emulator's AMQP twin and direct-method channels (docs/clouds/azure-iot-hub.md#amqp-links), beside the
 * front end's telemetry
 * and C2D links. The front end authorizes the attach and hands the links here: `addOutbound` for the
 * hub's sender of a channel, and every message that arrives on the channel's receiver to `onMessage`,
 * which answers twin requests on the same connection's twin sender and completes method calls.
 */
export class AmqpDeviceLinks {
  readonly #twins: TwinStore | undefined;
  readonly #log: Logger;
  readonly #outbound = new Set<Outbound>();
  readonly #methodWaiters = new Map<string, (reply: MethodReply) => void>();

  constructor(options: { twins?: TwinStore; log: Logger }) {
    this.#twins = options.twins;
    this.#log = options.log;
  }

  addOutbound(sender: Sender, deviceId: string, kind: DeviceChannelKind): void {
    this.#outbound.add({ sender, deviceId, kind, wantsDesired: false });
  }

  /** Forget a link (detached) or every link of a connection (gone). */
  drop(match: { sender?: Sender; connection?: Connection }): void {
    for (const link of this.#outbound) {
      if (link.sender === match.sender || link.sender.connection === match.connection)
        this.#outbound.delete(link);
    }
  }

  onMessage(
    connection: Connection,
    deviceId: string,
    kind: DeviceChannelKind,
    message: Message,
    delivery: Delivery,
  ): void {
    // Methods responses come pre-settled (snd-settle-mode settled); only an unsettled transfer needs ours.
    if (!delivery.remote_settled) delivery.accept();
    if (kind === 'methods') {
      this.#onMethodResponse(deviceId, message);
      return;
    }
    const link = this.#find(connection, deviceId, 'twin');
    if (link === undefined) {
      this.#log.debug({ deviceId }, 'Twin request with no twin sender on its connection; dropped.');
      return;
    }
    const reply = this.#answerTwin(link, message);
    link.sender.send({
      ...(message.correlation_id === undefined ? {} : { correlation_id: message.correlation_id }),
      message_annotations: reply.annotations,
      body: dataSection(reply.body),
    });
  }

  /** Push a desired patch on every twin link of the device that subscribed to them. */
  pushDesired(deviceId: string, patch: DesiredPatch): void {
    for (const link of this.#outbound) {
      if (link.deviceId !== deviceId || link.kind !== 'twin' || !link.wantsDesired) continue;
      link.sender.send({
        message_annotations: { [TWIN_VERSION]: patch.$version },
        body: dataSection(Buffer.from(JSON.stringify(patch))),
      });
    }
  }

  /** Whether a methods link of the device is attached. */
  hasMethods(deviceId: string): boolean {
    return [...this.#outbound].some((l) => l.deviceId === deviceId && l.kind === 'methods');
  }

  /**
   * Invoke a direct method on the device's methods link; rejects with status 404 when none is attached and
   * 504 when the device does not answer in `timeoutMs`, as the MQTT front end does.
   */
  invokeMethod(deviceId: string, method: string, payload: Buffer, timeoutMs: number): Promise<MethodReply> {
    const link = [...this.#outbound].find((l) => l.deviceId === deviceId && l.kind === 'methods');
    if (link === undefined) {
      return Promise.reject(
        Object.assign(new Error(`device ${deviceId} is not online for methods`), { status: 404 }),
      );
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#methodWaiters.delete(id);
        reject(
          Object.assign(new Error(`device ${deviceId} did not answer ${method} in time`), { status: 504 }),
        );
      }, timeoutMs);
      this.#methodWaiters.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      // The hub sends the request id as an AMQP uuid.
      link.sender.send({
        correlation_id: rhea.string_to_uuid(id),
        application_properties: { [METHOD_NAME_PROPERTY]: method },
        body: dataSection(payload),
      });
    });
  }

  #onMethodResponse(deviceId: string, message: Message): void {
    const id = correlationKey(message.correlation_id);
    const waiter = id === undefined ? undefined : this.#methodWaiters.get(id);
    if (waiter === undefined) {
      this.#log.debug({ deviceId }, 'A method response nobody waits for; dropped.');
      return;
    }
    this.#methodWaiters.delete(id!);
    const properties = (message.application_properties ?? {}) as Record<string, unknown>;
    waiter({ status: Number(properties[METHOD_STATUS_PROPERTY]), payload: bodyOf(message) });
  }

  #answerTwin(link: Outbound, message: Message): { annotations: Record<string, unknown>; body: Buffer } {
    const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
    const operation = annotations[TWIN_OPERATION];
    const resource = annotations[TWIN_RESOURCE];
    const twins = this.#twins;
    const status = (code: number, body = Buffer.alloc(0), extra: Record<string, unknown> = {}) => ({
      annotations: { [TWIN_STATUS]: code, ...extra },
      body,
    });
    if (twins === undefined) return status(501);
    if (operation === 'GET') return status(200, Buffer.from(JSON.stringify(twins.read(link.deviceId))));
    if (operation === 'PATCH' && resource === REPORTED_RESOURCE) {
      try {
        const version = twins.patchReported(link.deviceId, parsePatch(bodyOf(message)));
        return status(204, Buffer.alloc(0), { [TWIN_VERSION]: version });
      } catch (e) {
        if (!(e instanceof TwinPatchError)) throw e;
        return status(
          e.status,
          Buffer.from(JSON.stringify({ errorCode: e.status * 1000 + 1, message: e.message })),
        );
      }
    }
    if ((operation === 'PUT' || operation === 'DELETE') && resource === DESIRED_RESOURCE) {
      link.wantsDesired = operation === 'PUT';
      return status(200);
    }
    return status(
      400,
      Buffer.from(JSON.stringify({ message: `unsupported twin operation ${String(operation)}` })),
    );
  }

  #find(connection: Connection, deviceId: string, kind: DeviceChannelKind): Outbound | undefined {
    return [...this.#outbound].find(
      (l) => l.sender.connection === connection && l.deviceId === deviceId && l.kind === kind,
    );
  }
}
