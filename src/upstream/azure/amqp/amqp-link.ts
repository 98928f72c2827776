import { randomUUID } from 'node:crypto';
import type { AmqpError, Connection, Delivery, EventContext, Receiver, Sender } from 'rhea';
import { FieldgateError, isFieldgateError } from '../../../errors.js';

/**
 * Small waits over rhea endpoints that end in a result instead of hanging, and the CBS put-token exchange
 * (docs/clouds/azure-iot-hub.md#cbs-put-token). The Azure AMQP connector builds on these.
 */

/** How a hub settled one transfer. */
export type Outcome = { kind: 'accepted' } | { kind: 'refused'; condition: string; description: string };

/** Resolves when the link is attached; rejects with FG_UPSTREAM_AUTH or FG_UPSTREAM_OFFLINE when refused. */
export function linkOpened(link: Sender | Receiver, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(offline('the hub did not attach the link in time')), timeoutMs);
    // A refused link is attached with no terminus and detached at once: wait for the detach and its reason.
    const onOpen = (): void => {
      const terminus = (link.is_sender() ? link.target : link.source) as { address?: unknown } | undefined;
      if (typeof terminus?.address === 'string') settle();
    };
    const onClose = (context: EventContext): void =>
      settle(refusal(context.receiver?.error ?? context.sender?.error));
    const onDisconnect = (): void => settle(offline('the connection closed while attaching a link'));
    const settle = (error?: FieldgateError): void => {
      clearTimeout(timer);
      const event = link.is_sender() ? 'sender' : 'receiver';
      link.off(`${event}_open`, onOpen);
      link.off(`${event}_close`, onClose);
      link.connection.off('disconnected', onDisconnect);
      if (error === undefined) resolve();
      else reject(error);
    };
    const event = link.is_sender() ? 'sender' : 'receiver';
    link.once(`${event}_open`, onOpen);
    link.once(`${event}_close`, onClose);
    link.connection.once('disconnected', onDisconnect);
  });
}

/** Resolves when the connection's open frame came back; rejects (retryable) when it did not. */
export function connectionOpened(connection: Connection, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: FieldgateError): void => {
      connection.off('connection_open', onOpen);
      connection.off('disconnected', onDisconnect);
      connection.off('connection_close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onOpen = (): void => settle();
    const onDisconnect = (context: EventContext): void =>
      settle(offline(`connecting failed: ${errorText(context.error)}`));
    const onClose = (context: EventContext): void => settle(refusal(context.connection.error));
    const onAbort = (): void => settle(offline('connecting was aborted'));
    connection.once('connection_open', onOpen);
    connection.once('disconnected', onDisconnect);
    connection.once('connection_close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}

/**
 * Tracks the outcome of each transfer on one sender: `outcome(delivery)` resolves when the hub settles it,
 * when the connection drops (`connection lost`) or after `timeoutMs` (`timeout`).
 */
export class OutcomeTracker {
  readonly #waiting = new Map<Delivery, (outcome: Outcome) => void>();

  constructor(sender: Sender) {
    const finish = (context: EventContext, outcome: Outcome): void => {
      const resolve = this.#waiting.get(context.delivery!);
      this.#waiting.delete(context.delivery!);
      resolve?.(outcome);
    };
    sender.on('accepted', (c: EventContext) => finish(c, { kind: 'accepted' }));
    sender.on('rejected', (c: EventContext) => {
      const error = (c.delivery!.remote_state as { error?: AmqpError } | undefined)?.error;
      finish(c, {
        kind: 'refused',
        condition: String(error?.condition ?? 'amqp:rejected'),
        description: String(error?.description ?? 'rejected'),
      });
    });
    const released = (c: EventContext): void =>
      finish(c, { kind: 'refused', condition: 'amqp:released', description: 'released' });
    sender.on('released', released);
    sender.on('modified', released);
    sender.connection.on('disconnected', () => this.failAll('connection lost'));
  }

  outcome(delivery: Delivery, timeoutMs: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(delivery);
        resolve({ kind: 'refused', condition: 'timeout', description: 'timeout' });
      }, timeoutMs);
      this.#waiting.set(delivery, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
  }

  failAll(description: string): void {
    for (const resolve of this.#waiting.values())
      resolve({ kind: 'refused', condition: 'offline', description });
    this.#waiting.clear();
  }
}

/** The Node and C SDKs' token type; the hub also accepts `azure-devices.net:sastoken`. */
const TOKEN_TYPE = 'servicebus.windows.net:sastoken';

/**
 * The claims-based-security link pair on one connection. `putToken` sends the SAS token for an audience
 * and resolves on status 200; anything else is FG_UPSTREAM_AUTH. Renewal is another `putToken` on the
 * same links: AMQP, unlike MQTT, refreshes a token without reconnecting.
 */
export class CbsLink {
  readonly #sender: Sender;
  readonly #receiver: Receiver;
  readonly #waiting = new Map<string, (reply: { status: number; description: string }) => void>();

  private constructor(connection: Connection) {
    this.#sender = connection.open_sender({ target: { address: '$cbs' } });
    this.#receiver = connection.open_receiver({ source: { address: '$cbs' }, autoaccept: true });
    this.#receiver.on('message', (context: EventContext) => {
      const message = context.message!;
      const properties = (message.application_properties ?? {}) as Record<string, unknown>;
      const id = String(message.correlation_id);
      this.#waiting.get(id)?.({
        status: Number(properties['status-code']),
        description:
          typeof properties['status-description'] === 'string' ? properties['status-description'] : '',
      });
      this.#waiting.delete(id);
    });
  }

  static async open(connection: Connection, timeoutMs: number): Promise<CbsLink> {
    const cbs = new CbsLink(connection);
    await Promise.all([linkOpened(cbs.#sender, timeoutMs), linkOpened(cbs.#receiver, timeoutMs)]);
    return cbs;
  }

  async putToken(audience: string, token: string, timeoutMs: number): Promise<void> {
    const messageId = randomUUID();
    const reply = new Promise<{ status: number; description: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ status: 0, description: 'no reply in time' }), timeoutMs);
      this.#waiting.set(messageId, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.#sender.send({
      to: '$cbs',
      reply_to: 'cbs',
      message_id: messageId,
      application_properties: { operation: 'put-token', type: TOKEN_TYPE, name: audience },
      body: token,
    });
    const { status, description } = await reply;
    this.#waiting.delete(messageId);
    if (status === 200) return;
    if (status === 0) throw offline(`put-token: ${description}`);
    throw new FieldgateError(
      'FG_UPSTREAM_AUTH',
      `The hub refused the SAS token (${status}): ${description}.`,
      {
        context: { status, ...hubCodeContext(description) },
      },
    );
  }
}

function offline(reason: string): FieldgateError {
  return new FieldgateError('FG_UPSTREAM_OFFLINE', `IoT Hub over AMQP: ${reason}.`, { context: { reason } });
}

/** A detach or close with `amqp:unauthorized-access` is an auth failure; anything else a transient one. */
function refusal(error: unknown): FieldgateError {
  const condition = (error as AmqpError | undefined)?.condition;
  if (condition === 'amqp:unauthorized-access') {
    return new FieldgateError('FG_UPSTREAM_AUTH', `The hub refused access: ${errorText(error)}.`);
  }
  const reason = `the hub closed the link: ${errorText(error)}`;
  const description = (error as AmqpError | undefined)?.description;
  return new FieldgateError('FG_UPSTREAM_OFFLINE', `IoT Hub over AMQP: ${reason}.`, {
    context: { reason, ...hubCodeContext(typeof description === 'string' ? description : '') },
  });
}

/** IoT Hub's 403005 IotHubMaxCbsTokenExceeded: this connection carries as many devices as it may. */
const CONNECTION_FULL = 403005;

/** The hub's six-digit error code that starts a description (`403005 IotHubMaxCbsTokenExceeded`), if any. */
function hubCodeContext(description: string): { hubCode?: number } {
  const match = /^(\d{6})\b/.exec(description.trim());
  return match === null ? {} : { hubCode: Number(match[1]) };
}

/**
 * Whether a refused put-token or link attach says the connection carries as many devices as the hub allows
 * on one (403005): another connection takes the device (docs/clouds/azure-iot-hub.md#multiplexing-many-devices-on-amqp).
 */
export function isConnectionFull(e: unknown): boolean {
  return isFieldgateError(e) && e.context?.hubCode === CONNECTION_FULL;
}

function errorText(error: unknown): string {
  if (error === undefined || error === null) return 'no reason given';
  const { condition, description, message } = error as {
    condition?: string;
    description?: string;
    message?: string;
  };
  return [condition, description ?? message].filter((s) => s !== undefined).join(': ');
}
