import { randomUUID } from 'node:crypto';
import type { Connection, EventContext, Message, Receiver, Sender } from 'rhea';
import {
  API_VERSION_PROPERTY,
  CHANNEL_CORRELATION_ID,
  channelAddress,
  correlationKey,
  dataSection,
  DESIRED_RESOURCE,
  REPORTED_RESOURCE,
  TWIN_OPERATION,
  TWIN_RESOURCE,
  TWIN_STATUS,
} from '../protocol/amqp-device-channels.js';
import { linkOpened } from './amqp-link.js';
import { bodyOf } from '../protocol/amqp-message.js';
import type { TwinChannel, TwinSections } from '../gateway-twin.js';
import { API_VERSION } from '../protocol/topics.js';

type Doc = Record<string, unknown>;

/**
 * The device twin over IoT Hub's AMQP twin link pair on an open, authorized connection
 * (docs/clouds/azure-iot-hub.md#amqp-links):
 * requests go on the sender with an `operation` annotation and a correlation id, answers come back on
 * the receiver with a `status` annotation; desired patches arrive there without a correlation id once
 * `open` has subscribed to them (PUT on the desired resource).
 */
export class AmqpTwinChannel implements TwinChannel {
  readonly #sender: Sender;
  readonly #receiver: Receiver;
  readonly #timeoutMs: number;
  readonly #waiting = new Map<string, (reply: { status: number; body: Buffer }) => void>();

  private constructor(
    connection: Connection,
    identity: { deviceId: string; moduleId?: string },
    timeoutMs: number,
    onDesired: (patch: Doc) => void,
  ) {
    this.#timeoutMs = timeoutMs;
    const address = channelAddress(identity.deviceId, 'twin', identity.moduleId);
    const properties = {
      [CHANNEL_CORRELATION_ID]: `twin:${randomUUID()}`,
      [API_VERSION_PROPERTY]: API_VERSION,
    };
    // As the SDKs attach it: our requests go pre-settled, the hub's answers are settled by us.
    this.#sender = connection.open_sender({ target: { address }, properties, snd_settle_mode: 1 });
    this.#receiver = connection.open_receiver({ source: { address }, properties, autoaccept: true });
    this.#receiver.on('message', (context: EventContext) => this.#onMessage(context.message!, onDesired));
  }

  /** Attach the link pair and subscribe to desired patches. */
  static async open(
    connection: Connection,
    identity: { deviceId: string; moduleId?: string },
    timeoutMs: number,
    onDesired: (patch: Doc) => void,
  ): Promise<AmqpTwinChannel> {
    const channel = new AmqpTwinChannel(connection, identity, timeoutMs, onDesired);
    await Promise.all([linkOpened(channel.#sender, timeoutMs), linkOpened(channel.#receiver, timeoutMs)]);
    await channel.#request({ [TWIN_OPERATION]: 'PUT', [TWIN_RESOURCE]: DESIRED_RESOURCE }, Buffer.from(' '));
    return channel;
  }

  async get(): Promise<TwinSections> {
    const twin = parseDoc(await this.#request({ [TWIN_OPERATION]: 'GET' }, Buffer.from(' ')));
    return {
      desired: asDoc(twin?.desired) ?? {},
      reported: asDoc(twin?.reported) ?? {},
    };
  }

  async patchReported(patch: Doc): Promise<void> {
    await this.#request(
      { [TWIN_OPERATION]: 'PATCH', [TWIN_RESOURCE]: REPORTED_RESOURCE },
      Buffer.from(JSON.stringify(patch)),
    );
  }

  /** Send one request; its answer's body, or an Error for a status outside 200–299 or no answer. */
  async #request(annotations: Doc, body: Buffer): Promise<Buffer> {
    const id = randomUUID();
    const reply = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no twin response in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.#sender.send({
      correlation_id: id,
      message_annotations: annotations,
      body: dataSection(body),
    });
    const { status, body: answer } = await reply;
    if (status < 200 || status >= 300)
      throw new Error(
        `twin ${String(annotations[TWIN_OPERATION])} answered ${status}: ${answer.toString('utf8')}`,
      );
    return answer;
  }

  #onMessage(message: Message, onDesired: (patch: Doc) => void): void {
    const id = correlationKey(message.correlation_id);
    if (id === undefined) {
      const patch = parseDoc(bodyOf(message));
      if (patch !== undefined) onDesired(patch);
      return;
    }
    const annotations = message.message_annotations ?? {};
    this.#waiting.get(id)?.({ status: Number(annotations[TWIN_STATUS]), body: bodyOf(message) });
    this.#waiting.delete(id);
  }
}

function parseDoc(body: Buffer): Doc | undefined {
  try {
    return asDoc(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}

function asDoc(value: unknown): Doc | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : undefined;
}
