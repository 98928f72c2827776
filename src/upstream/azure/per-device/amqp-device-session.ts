import type { Connection, Delivery, EventContext, Message, Receiver, Sender, Session } from 'rhea';
import type { Logger } from '../../../logger.js';
import { type CbsLink, linkOpened, OutcomeTracker } from '../amqp/amqp-link.js';
import { deviceToken, type AzureIdentity } from '../credentials.js';
import { encodeUriComponentStrict } from '../protocol/sas.js';
import { MAX_INBOUND_PAYLOAD_BYTES } from '../../inbound/inbound-limits.js';

/** C2D messages the hub may push before we settle one: the hub's queue holds 50 per device anyway. */
const C2D_CREDIT = 10;

export interface AmqpDeviceSessionOptions {
  connection: Connection;
  /**
   * Where to put this device's own token, or undefined when a hub-scoped policy token already on the
   * connection covers it (`SasGrouped`, docs/clouds/azure-iot-hub.md#multiplexing-many-devices-on-amqp).
   */
  cbs: CbsLink | undefined;
  leaf: string;
  identity: AzureIdentity;
  tokenTtlS: number;
  tokenRenewBeforeS: number;
  timeoutMs: number;
  now: () => number;
  log: Logger;
  onC2d: (session: AmqpDeviceSession, message: Message, delivery: Delivery) => void;
}

/**
 * One leaf's hub device on a shared AMQP connection
 * (docs/clouds/azure-iot-hub.md#multiplexing-many-devices-on-amqp): its own session with an events
 * sender and a devicebound receiver, and, with a device key, its own CBS token, put again on the shared
 * CBS link before it expires. A session whose links the hub detached (a token it let expire, a device it
 * disabled) reports `isOpen` false and is opened again by the owner.
 */
export class AmqpDeviceSession {
  readonly leaf: string;
  readonly identity: AzureIdentity;
  readonly events: Sender;
  readonly outcomes: OutcomeTracker;
  readonly #session: Session;
  readonly #c2d: Receiver;
  readonly #options: AmqpDeviceSessionOptions;
  #renewTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: AmqpDeviceSessionOptions) {
    this.#options = options;
    this.leaf = options.leaf;
    this.identity = options.identity;
    const { deviceId } = options.identity;
    this.#session = options.connection.create_session();
    this.#session.begin();
    this.events = this.#session.open_sender({ target: { address: `/devices/${deviceId}/messages/events` } });
    this.#c2d = this.#session.open_receiver({
      source: { address: `/devices/${deviceId}/messages/devicebound` },
      autoaccept: false,
      credit_window: C2D_CREDIT,
      // Tells the hub our limit (AMQP 1.0 §2.7.3); rhea itself does not enforce it on what arrives.
      max_message_size: MAX_INBOUND_PAYLOAD_BYTES,
    });
    this.#c2d.on('message', (context: EventContext) =>
      options.onC2d(this, context.message!, context.delivery!),
    );
    this.outcomes = new OutcomeTracker(this.events);
  }

  /**
   * Put the device's token (unless a hub-scoped one covers it) and attach its links. Rejects with
   * FG_UPSTREAM_AUTH when the hub refuses the token or a link, FG_UPSTREAM_OFFLINE when it does not answer.
   */
  static async open(options: AmqpDeviceSessionOptions): Promise<AmqpDeviceSession> {
    // The token goes first: the hub refuses to attach a device's links until a token covers them.
    const expiresAtS = await putDeviceToken(options);
    const session = new AmqpDeviceSession(options);
    try {
      await Promise.all([
        linkOpened(session.events, options.timeoutMs),
        linkOpened(session.#c2d, options.timeoutMs),
      ]);
    } catch (e) {
      session.close();
      throw e;
    }
    if (expiresAtS !== undefined) session.#scheduleRenewal(expiresAtS);
    return session;
  }

  /** True while both links are attached on an open connection. */
  get isOpen(): boolean {
    return !this.#closed && this.events.is_open() && this.#c2d.is_open() && this.#session.is_open();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#renewTimer);
    this.outcomes.failAll('session closed');
    if (this.#options.connection.is_open()) this.#session.close();
  }

  #scheduleRenewal(expiresAtS: number): void {
    const { tokenRenewBeforeS, now } = this.#options;
    const renewInMs = Math.max(0, (expiresAtS - tokenRenewBeforeS) * 1000 - now());
    this.#renewTimer = setTimeout(() => void this.#renew(), renewInMs);
    this.#renewTimer.unref();
  }

  async #renew(): Promise<void> {
    if (this.#closed) return;
    try {
      const expiresAtS = await putDeviceToken(this.#options);
      if (expiresAtS !== undefined && !this.#closed) this.#scheduleRenewal(expiresAtS);
      this.#options.log.debug({ leaf: this.leaf, expiresAtS }, 'Renewed the device token on the CBS link.');
    } catch (e) {
      // The links stay until the old token runs out; then the hub detaches them and the next send reopens.
      this.#options.log.debug({ err: e, leaf: this.leaf }, 'Renewing the device token failed.');
      this.close();
    }
  }
}

/** Put a fresh device-scoped token on the CBS link; its expiry, or undefined when no token of its own is due. */
async function putDeviceToken(options: AmqpDeviceSessionOptions): Promise<number | undefined> {
  const { cbs, identity } = options;
  if (cbs === undefined) return undefined;
  const expiresAtS = Math.floor(options.now() / 1000) + options.tokenTtlS;
  const token = deviceToken(identity, expiresAtS)!;
  // The Node SDK's audience: the token's own `sr`, URL-encoded (docs/clouds/azure-iot-hub.md#cbs-put-token).
  const audience = encodeUriComponentStrict(`${identity.hostName}/devices/${identity.deviceId}`);
  await cbs.putToken(audience, token, options.timeoutMs);
  return expiresAtS;
}
