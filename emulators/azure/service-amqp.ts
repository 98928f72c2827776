import type { Connection, Delivery, EventContext, Message, Receiver, Sender } from 'rhea';
import rhea from 'rhea';
import { toPropertyBag } from '../../src/upstream/azure/protocol/amqp-message.js';
import type { Logger } from '../../src/logger.js';
import { addressOf, echoTermini } from './amqp-terminus.js';
import {
  QueueDepthExceededError,
  type FeedbackAck,
  type FeedbackRecord,
  type SendC2dInput,
} from './c2d-queue.js';
import type { HubRegistry } from './registry.js';
import { checkServiceToken } from './service-auth.js';

export interface ServiceAmqpOptions {
  registry: HubRegistry;
  /** The names a service token's `sr` may give for this hub. */
  hostNames: () => readonly string[];
  log: Logger;
  now: () => number;
  /** Queue a C2D message as the hub's service side does (throws QueueDepthExceededError past 50). */
  sendC2d: (deviceId: string, input: SendC2dInput) => void;
  /**
   * How long records gather before they go out as one feedback message (ms; default 1000). IoT Hub sends
   * feedback in batches (a message's body is an array of records across devices), not one per outcome.
   */
  feedbackBatchMs?: number;
}

const UNAUTHORIZED = 'amqp:unauthorized-access';
const C2D_ADDRESS = '/messages/devicebound';
const FEEDBACK_ADDRESS = '/messages/servicebound/feedback';
const FEEDBACK_CONTENT_TYPE = 'application/vnd.microsoft.iothub.feedback.json';
const ACKS: readonly FeedbackAck[] = ['none', 'positive', 'negative', 'full'];
/** Records per feedback message at most (the hub's batch size is not documented; chosen). */
const MAX_RECORDS_PER_MESSAGE = 64;

/**
 * The hub's service-facing AMQP links (docs/clouds/azure-iot-hub.md#service-side), as `azure-iothub`'s
 * `Client` uses them: CBS `put-token` on `$cbs` with a policy token that has ServiceConnect; C2D
 * messages on `/messages/devicebound`, each addressed by `to: /devices/{id}/messages/devicebound`, with
 * `iothub-ack` and an optional absolute expiry, accepted once queued (rejected for an unknown device or a
 * full queue); and feedback on `/messages/serviceBound/feedback`: the records of a batch window together as
 * one JSON array in a data section (docs/clouds/azure-iot-hub.md#service-side), kept until a feedback link
 * takes them.
 */
export class ServiceAmqpLinks {
  readonly #options: ServiceAmqpOptions;
  /** Per connection: when its service token runs out (s), and the `$cbs` reply link. */
  readonly #connections = new Map<Connection, { expiresAtS?: number; replies?: Sender }>();
  readonly #feedbackLinks = new Set<Sender>();
  readonly #pendingFeedback: FeedbackRecord[] = [];
  /** Records gathering for the next batch, and the timer that releases them. */
  readonly #gathering: FeedbackRecord[] = [];
  #batchTimer: NodeJS.Timeout | undefined;

  constructor(options: ServiceAmqpOptions) {
    this.#options = options;
  }

  /** Wire the links to a rhea container (created with `autoaccept: false`). */
  attach(container: rhea.Container): void {
    container.on('connection_open', (c: EventContext) => this.#connections.set(c.connection, {}));
    container.on('disconnected', (c: EventContext) => this.#forget(c.connection));
    container.on('connection_close', (c: EventContext) => this.#forget(c.connection));
    container.on('receiver_open', (c: EventContext) => this.#onReceiverOpen(c.connection, c.receiver!));
    container.on('sender_open', (c: EventContext) => this.#onSenderOpen(c.connection, c.sender!));
    container.on('sender_close', (c: EventContext) => this.#feedbackLinks.delete(c.sender!));
    container.on('sendable', () => this.#flushFeedback());
    container.on('message', (c: EventContext) => this.#onMessage(c));
    container.on('error', (e: unknown) => this.#options.log.debug({ err: e }, 'Service AMQP error.'));
  }

  /** A feedback record for the service: goes out on an attached feedback link, or waits for one. */
  pushFeedback(record: FeedbackRecord): void {
    this.#gathering.push(record);
    this.#batchTimer ??= setTimeout(() => {
      this.#batchTimer = undefined;
      this.#pendingFeedback.push(...this.#gathering.splice(0));
      this.#flushFeedback();
    }, this.#options.feedbackBatchMs ?? 1000);
    this.#batchTimer.unref();
  }

  /** Stop gathering (records not yet released are dropped with the hub). */
  close(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
  }

  #isAuthorized(connection: Connection): boolean {
    const expiresAtS = this.#connections.get(connection)?.expiresAtS;
    return expiresAtS !== undefined && expiresAtS > this.#options.now() / 1000;
  }

  #onReceiverOpen(connection: Connection, receiver: Receiver): void {
    const address = addressOf(receiver.target);
    if (address !== '$cbs' && (address.toLowerCase() !== C2D_ADDRESS || !this.#isAuthorized(connection))) {
      receiver.close({ condition: UNAUTHORIZED, description: `no service token for ${address}` });
      return;
    }
    echoTermini(receiver);
    receiver.add_credit(100);
  }

  #onSenderOpen(connection: Connection, sender: Sender): void {
    const address = addressOf(sender.source);
    if (address === '$cbs') {
      echoTermini(sender);
      const state = this.#connections.get(connection) ?? {};
      state.replies = sender;
      this.#connections.set(connection, state);
      return;
    }
    if (address.toLowerCase() !== FEEDBACK_ADDRESS || !this.#isAuthorized(connection)) {
      sender.close({ condition: UNAUTHORIZED, description: `no service token for ${address}` });
      return;
    }
    echoTermini(sender);
    this.#feedbackLinks.add(sender);
    this.#flushFeedback();
  }

  #onMessage(context: EventContext): void {
    const delivery = context.delivery!;
    const message = context.message!;
    const address = addressOf(context.receiver!.target);
    if (address === '$cbs') {
      delivery.accept();
      this.#putToken(context.connection, message);
      return;
    }
    this.#onC2d(message, delivery);
  }

  #putToken(connection: Connection, request: Message): void {
    const state = this.#connections.get(connection) ?? {};
    const properties = (request.application_properties ?? {}) as Record<string, unknown>;
    const reply = (status: number, description: string): void => {
      state.replies?.send({
        body: null,
        ...(request.message_id === undefined ? {} : { correlation_id: request.message_id }),
        ...(typeof request.reply_to === 'string' ? { to: request.reply_to } : {}),
        application_properties: { 'status-code': status, 'status-description': description },
      });
    };
    if (properties.operation !== 'put-token') {
      reply(400, 'only put-token is supported');
      return;
    }
    const token = typeof request.body === 'string' ? request.body : '';
    const nowS = Math.floor(this.#options.now() / 1000);
    const auth = checkServiceToken(
      this.#options.registry,
      token,
      this.#options.hostNames(),
      'ServiceConnect',
      nowS,
    );
    if (!auth.ok) {
      this.#options.log.debug({ reason: auth.reason }, 'Refused a service token.');
      reply(401, auth.reason);
      return;
    }
    state.expiresAtS = auth.expiresAtS;
    this.#connections.set(connection, state);
    reply(200, 'OK');
  }

  #onC2d(message: Message, delivery: Delivery): void {
    const { properties, body } = toPropertyBag(message);
    const to = /^\/devices\/([^/]+)\/messages\/devicebound$/i.exec(properties['$.to'] ?? '');
    const deviceId = to === null ? undefined : decodeURIComponent(to[1]!);
    if (deviceId === undefined || this.#options.registry.device(deviceId) === undefined) {
      delivery.reject({
        condition: 'amqp:not-found',
        description: `404001 DeviceNotFound: ${properties['$.to']}`,
      });
      return;
    }
    const { '$.mid': messageId, '$.to': _to, '$.exp': expiry, 'iothub-ack': ack, ...rest } = properties;
    const application = Object.fromEntries(
      Object.entries(rest).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    const expiresAt = typeof expiry === 'string' ? Date.parse(expiry) : undefined;
    try {
      this.#options.sendC2d(deviceId, {
        body,
        properties: application,
        ...(typeof messageId === 'string' ? { messageId } : {}),
        ...(ACKS.includes(ack as FeedbackAck) ? { ack: ack as FeedbackAck } : {}),
        ...(expiresAt === undefined || Number.isNaN(expiresAt)
          ? {}
          : { ttlMs: Math.max(0, expiresAt - this.#options.now()) }),
      });
    } catch (e) {
      if (!(e instanceof QueueDepthExceededError)) throw e;
      delivery.reject({ condition: 'amqp:resource-limit-exceeded', description: `403004 ${e.message}` });
      return;
    }
    delivery.accept();
  }

  #flushFeedback(): void {
    for (const link of this.#feedbackLinks) {
      while (this.#pendingFeedback.length > 0 && link.sendable()) {
        const records = this.#pendingFeedback.splice(0, MAX_RECORDS_PER_MESSAGE);
        link.send({
          content_type: FEEDBACK_CONTENT_TYPE,
          body: rhea.message.data_section(
            Buffer.from(JSON.stringify(records.map((record) => ({ ...record, deviceGenerationId: '' })))),
          ) as unknown,
        });
      }
    }
  }

  #forget(connection: Connection): void {
    this.#connections.delete(connection);
    for (const link of this.#feedbackLinks)
      if (link.connection === connection) this.#feedbackLinks.delete(link);
  }
}
