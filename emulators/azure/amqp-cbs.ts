import type { Connection, Message, Sender } from 'rhea';
import type { Logger } from '../../src/logger.js';
import { parseSasToken } from '../../src/upstream/azure/protocol/sas.js';
import type { HubRegistry } from './registry.js';
import { checkSasToken } from './sas-check.js';

/** Tokens put on one connection's CBS link, by audience, and the link its replies go out on. */
interface ConnectionTokens {
  tokens: Map<string, { token: string; expiresAtS: number; timer: NodeJS.Timeout }>;
  replies?: Sender;
}

export interface CbsTokensOptions {
  registry: HubRegistry;
  log: Logger;
  now: () => number;
  /** A token of this connection ran out unrenewed and was dropped. */
  onExpired: (connection: Connection) => void;
  /** Tokens one connection may hold (default the hub's 999); past it 403005. */
  maxTokensPerConnection?: number;
}

/** The hub's limit on tokens per connection (403005 IotHubMaxCbsTokenExceeded past it). */
const MAX_TOKENS_PER_CONNECTION = 999;
/** The hub's answer past that limit; the same code refuses a device's link past the devices a connection may carry. */
export const TOKENS_EXCEEDED = '403005 IotHubMaxCbsTokenExceeded';

/**
 * The claims-based security of the emulator's AMQP front end (docs/clouds/azure-iot-hub.md#cbs-put-token):
 * answers each `put-token`
 * on a connection's `$cbs` link with `status-code` 200, or 400/401/403 and the reason, after the same SAS
 * check as MQTT, and keeps the connection's live tokens by audience; a new token for an audience replaces
 * the old one. `covers` says whether one of them admits a device. When a token runs out unrenewed it is
 * dropped and `onExpired` is called with its connection, so the front end can detach what no other token
 * covers. `forget` a connection when it closes: its timers are cleared.
 */
export class CbsTokens {
  readonly #options: CbsTokensOptions;
  readonly #connections = new Map<Connection, ConnectionTokens>();

  constructor(options: CbsTokensOptions) {
    this.#options = options;
  }

  /** A new connection starts with no tokens. */
  open(connection: Connection): void {
    this.#connections.set(connection, { tokens: new Map() });
  }

  /** The hub's sender on the connection's `$cbs` link, which carries the replies. */
  setReplyLink(connection: Connection, sender: Sender): void {
    this.#state(connection).replies = sender;
  }

  /** Answer one CBS request that arrived on the connection's `$cbs` receiver. */
  putToken(connection: Connection, request: Message): void {
    const state = this.#state(connection);
    const properties = (request.application_properties ?? {}) as Record<string, unknown>;
    const audience = String(properties.name);
    const token = typeof request.body === 'string' ? request.body : '';
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
    const maxTokens = this.#options.maxTokensPerConnection ?? MAX_TOKENS_PER_CONNECTION;
    if (!state.tokens.has(audience) && state.tokens.size >= maxTokens) {
      reply(403, TOKENS_EXCEEDED);
      return;
    }
    const nowS = Math.floor(this.#options.now() / 1000);
    const check = checkSasToken(this.#options.registry, token, tokenDevice(token), nowS);
    if (!check.ok) {
      this.#options.log.debug({ audience, reason: check.reason }, 'Refused a CBS token.');
      reply(401, check.reason);
      return;
    }
    clearTimeout(state.tokens.get(audience)?.timer);
    const timer = setTimeout(
      () => this.#expire(connection, audience, token),
      check.expiresAtS * 1000 - this.#options.now(),
    );
    state.tokens.set(audience, { token, expiresAtS: check.expiresAtS, timer });
    reply(200, 'OK');
  }

  /** Whether a live token on this connection admits the device. */
  covers(connection: Connection, deviceId: string): boolean {
    const nowS = Math.floor(this.#options.now() / 1000);
    for (const { token } of this.#state(connection).tokens.values()) {
      if (checkSasToken(this.#options.registry, token, deviceId, nowS).ok) return true;
    }
    return false;
  }

  forget(connection: Connection): void {
    const state = this.#connections.get(connection);
    for (const { timer } of state?.tokens.values() ?? []) clearTimeout(timer);
    this.#connections.delete(connection);
  }

  #expire(connection: Connection, audience: string, token: string): void {
    const state = this.#connections.get(connection);
    if (state?.tokens.get(audience)?.token !== token) return;
    state.tokens.delete(audience);
    this.#options.onExpired(connection);
  }

  #state(connection: Connection): ConnectionTokens {
    let state = this.#connections.get(connection);
    if (state === undefined) {
      state = { tokens: new Map() };
      this.#connections.set(connection, state);
    }
    return state;
  }
}

/** The device (or `{device}/{module}`) a token is scoped to, or undefined for a hub-wide (`{host}` or `{host}/devices`) token. */
function tokenDevice(token: string): string | undefined {
  const parsed = parseSasToken(token);
  if (parsed === undefined) return undefined;
  try {
    const [, devices, id, modules, moduleId] = decodeURIComponent(parsed.srLiteral).split('/');
    if (devices !== 'devices' || id === undefined || id === '') return undefined;
    // A module's token: `{host}/devices/{d}/modules/{m}`, checked against the module's own keys.
    return modules === 'modules' && moduleId !== undefined && moduleId !== '' ? `${id}/${moduleId}` : id;
  } catch {
    return undefined;
  }
}
