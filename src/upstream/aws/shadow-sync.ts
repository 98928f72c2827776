import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';
import type { Logger } from '../../logger.js';
import type { CommandResult, Envelope } from '../../model.js';
import type { IncomingCommand } from '../upstream.js';
import { commandForDesired, reportedAfter } from './desired-commands.js';
import { mergePatch, patchBytes, changedFields, type Patch } from './shadow-patch.js';
import { shadowKey, ShadowTopics, type ShadowAddress, type ShadowResponse } from './shadow-topics.js';

export interface ShadowSyncOptions {
  config: AwsUpstreamConfig['shadows'];
  gatewayThing: string;
  route: string;
  log: Logger;
  now: () => number;
  /**
   * One QoS 1 publish on the live connection, paced with telemetry against the 100/s connection limit;
   * resolves false when it was not acknowledged or there is no connection.
   */
  publish: (topic: string, body: object) => Promise<boolean>;
  /** Waits for the connection's publish rate limiter (shared with telemetry); rejects when closing. */
  pace: () => Promise<void>;
  /** Hands a command derived from a `desired` change to the command router (the upstream's handler). */
  submit: (incoming: IncomingCommand) => void;
  /** How long a request waits for `/accepted` or `/rejected` before it is sent again; default 10 s. */
  responseTimeoutMs?: number;
}

/** One leaf's shadow as the gateway tracks it. */
interface LeafShadow {
  device: string;
  address: ShadowAddress;
  prefix: string;
  /** The shadow's version as last seen; undefined until a GET or an update told us. */
  version: number | undefined;
  /** `reported` as the service holds it, as far as we know. */
  confirmed: Patch;
  /** Changes not yet sent, merged: only the latest value of a field is ever sent. */
  pending: Patch;
  /** Bytes of `desired`, from the last GET: the 8 KB limit covers desired and reported together. */
  desiredBytes: number;
  /** Read the shadow before the next update: first use, reconnect, version conflict. */
  needsGet: boolean;
  lastUpdateAt: number;
  /** Sent now, regardless of `minIntervalMs`: the outcome of a desired command. */
  isUrgent: boolean;
  inFlight:
    | {
        token: string;
        kind: 'get' | 'update';
        sent: Patch;
        sentAt: number;
        /** When it left for the broker, after pacing; undefined while it waits for the rate limiter. */
        onWireAt?: number;
      }
    | undefined;
  backoffUntil: number;
  backoffMs: number;
  /** Desired field → the value and timestamp already acted on, so repeated deltas run nothing twice. */
  handled: Map<string, string>;
  isOverBudgetWarned: boolean;
}

/** IoT Core answers 429 beyond 10 unacknowledged shadow requests per thing (B3); stay well below. */
const MAX_IN_FLIGHT_PER_THING = 5;
/** The 8 KB state document limit (B3). */
const MAX_STATE_BYTES = 8192;
const TICK_MS = 50;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Keeps one shadow per leaf in step with the gateway (DESIGN.md §6, cloud-protocols.md B3):
 *
 * - `reported` follows readings. Only changed fields are sent, merged per shadow and at most once per
 *   `minIntervalMs`, and requests per thing stay within `maxUpdatesPerSecond` in every one-second window
 *   with at most 5 in flight, so IoT Core's 20/s and 10-in-flight limits are never reached. New fields
 *   that would push the document over 8 KB are left out (WARN once per shadow).
 * - Each update carries the version last seen. A 409 means someone else wrote: the shadow is read again,
 *   the pending fields merged onto it, and the update retried. A 429 backs that shadow off (1 s doubling
 *   to 30 s).
 * - A `desired` field that differs from `reported` (from `/update/delta` or a GET's delta) becomes one
 *   device command through the command router; its result is written back to `reported`
 *   (see `reportedAfter`). The router holds commands for sleeping devices, so a sleepy device gets its
 *   delta at wake-up.
 *
 * Shadows are state, not data: pending changes live in memory only, and after a restart the next reading
 * rewrites them. The shadow of a device is read on its first reading and after every reconnect, which is
 * also how a desired change made while the gateway was offline is found.
 */
export class ShadowSync {
  readonly topics: ShadowTopics;
  readonly #options: ShadowSyncOptions;
  readonly #log: Logger;
  readonly #shadows = new Map<string, LeafShadow>();
  readonly #byToken = new Map<string, LeafShadow>();
  readonly #commands = new Map<string, { shadow: LeafShadow; field: string; value: unknown }>();
  /** Send times per thing within the last second. */
  readonly #recent = new Map<string, number[]>();
  readonly #responseTimeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #nextToken = 1;
  #isOnline = false;

  constructor(options: ShadowSyncOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'aws-shadows' });
    this.topics = new ShadowTopics(options.config, options.gatewayThing);
    this.#responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
  }

  /** Record a batch's readings as changes to their devices' `reported`. */
  observe(batch: readonly Envelope[]): void {
    for (const { reading } of batch) {
      const shadow = this.#shadowOf(reading.device);
      mergePatch(shadow.pending, reading.values);
    }
  }

  /** The connection is up (and subscribed): read every known shadow again, then keep them in sync. */
  connected(): void {
    this.#isOnline = true;
    for (const shadow of this.#shadows.values()) shadow.needsGet = true;
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** The connection is gone: what was in flight is sent again later. */
  disconnected(): void {
    this.#isOnline = false;
    for (const shadow of this.#shadows.values()) this.#requeue(shadow);
    this.#byToken.clear();
  }

  close(): void {
    this.disconnected();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * If `id` is a command this class derived from a desired change, write its outcome to `reported` and
   * return true; otherwise false (the result belongs on the command response topic).
   */
  reflect(id: string, result: CommandResult): boolean {
    const command = this.#commands.get(id);
    if (command === undefined) return false;
    this.#commands.delete(id);
    mergePatch(command.shadow.pending, reportedAfter(command, result));
    command.shadow.isUrgent = true;
    return true;
  }

  /** Handle a message on a shadow topic; false when the topic is not a shadow response of ours. */
  handleMessage(topic: string, payload: Buffer): boolean {
    const parsed = this.topics.parse(topic);
    if (parsed === undefined) return false;
    const shadow = this.#shadows.get(shadowKey(parsed.address));
    if (shadow === undefined) return true;
    let body: Record<string, unknown>;
    try {
      body = asObject(JSON.parse(payload.toString('utf8'))) ?? {};
    } catch {
      this.#log.debug({ topic }, 'Shadow response is not JSON; ignored.');
      return true;
    }
    this.#onResponse(shadow, parsed.response, body);
    return true;
  }

  #onResponse(shadow: LeafShadow, response: ShadowResponse, body: Record<string, unknown>): void {
    const version = typeof body.version === 'number' ? body.version : undefined;
    const token = typeof body.clientToken === 'string' ? body.clientToken : undefined;
    const isOurs = token !== undefined && this.#byToken.get(token) === shadow;
    if (response === 'update/delta') {
      if (version !== undefined) shadow.version = Math.max(shadow.version ?? 0, version);
      this.#actOnDelta(shadow, asObject(body.state), asObject(body.metadata));
      return;
    }
    if (!isOurs) {
      // Someone else's update of this shadow: its version is now the one to send.
      if (response === 'update/accepted' && version !== undefined) {
        shadow.version = Math.max(shadow.version ?? 0, version);
      }
      return;
    }
    const inFlight = shadow.inFlight!;
    this.#byToken.delete(token);
    shadow.inFlight = undefined;
    switch (response) {
      case 'get/accepted': {
        const state = asObject(body.state) ?? {};
        shadow.version = version;
        shadow.confirmed = (asObject(state.reported) as Patch | undefined) ?? {};
        shadow.desiredBytes = state.desired === undefined ? 0 : patchBytes(state.desired as Patch);
        shadow.pending = changedFields(shadow.pending, shadow.confirmed);
        shadow.needsGet = false;
        this.#actOnDelta(shadow, asObject(state.delta), asObject(asObject(body.metadata)?.desired));
        return;
      }
      case 'get/rejected':
        // 404: no shadow yet; the first update creates it. Anything else: read again after a pause.
        if (body.code === 404) {
          shadow.needsGet = false;
          shadow.version = undefined;
          shadow.confirmed = {};
        } else {
          this.#backOff(shadow, body);
        }
        return;
      case 'update/accepted':
        mergePatch(shadow.confirmed, inFlight.sent, true);
        if (version !== undefined) shadow.version = version;
        shadow.backoffMs = 0;
        return;
      case 'update/rejected':
        this.#onUpdateRejected(shadow, inFlight.sent, body);
        return;
    }
  }

  #onUpdateRejected(shadow: LeafShadow, sent: Patch, body: Record<string, unknown>): void {
    const code = body.code;
    if (code === 409) {
      // Someone else wrote since our last read: read again, then send our fields on top of theirs.
      this.#log.debug({ device: shadow.device }, 'Shadow version conflict; reading it again.');
      shadow.pending = { ...sent, ...shadow.pending };
      shadow.needsGet = true;
      return;
    }
    if (code === 400 || code === 413) {
      this.#log.warn(
        { device: shadow.device, code, message: body.message },
        'IoT Core refused a shadow update; those reported values are skipped.',
      );
      return;
    }
    shadow.pending = { ...sent, ...shadow.pending };
    this.#backOff(shadow, body);
  }

  #backOff(shadow: LeafShadow, body: Record<string, unknown>): void {
    if (shadow.backoffMs === 0) {
      this.#log.warn(
        { device: shadow.device, code: body.code, message: body.message },
        'IoT Core is throttling or refusing shadow requests; backing off.',
      );
    }
    shadow.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, shadow.backoffMs * 2));
    shadow.backoffUntil = this.#options.now() + shadow.backoffMs;
  }

  #actOnDelta(
    shadow: LeafShadow,
    delta: Record<string, unknown> | undefined,
    metadata: Record<string, unknown> | undefined,
  ): void {
    if (delta === undefined) return;
    for (const [field, value] of Object.entries(delta)) {
      const timestamp = asObject(metadata?.[field])?.timestamp ?? null;
      const mark = `${JSON.stringify(value)}@${JSON.stringify(timestamp)}`;
      if (shadow.handled.get(field) === mark) continue;
      shadow.handled.set(field, mark);
      const command = commandForDesired(field, value, this.#options.config.desired);
      const id = `shadow:${shadowKey(shadow.address)}:${field}:${shadow.version ?? 0}`;
      if (command === undefined) {
        this.#log.warn(
          { device: shadow.device, field },
          'No command for this desired value; reporting that.',
        );
        this.#reflectUnmapped(shadow, field, value);
        continue;
      }
      this.#commands.set(id, { shadow, field, value });
      this.#options.submit({
        kind: 'command',
        command: {
          id,
          device: shadow.device,
          name: command.name,
          args: command.args,
          origin: 'aws',
          route: this.#options.route,
          receivedAt: this.#options.now(),
        },
      });
    }
  }

  #reflectUnmapped(shadow: LeafShadow, field: string, value: unknown): void {
    const detail = `no command sets ${field} to ${JSON.stringify(value)}`;
    mergePatch(shadow.pending, reportedAfter({ field, value }, { id: '', status: 'unsupported', detail }));
    shadow.isUrgent = true;
  }

  #shadowOf(device: string): LeafShadow {
    const address = this.topics.addressOf(device);
    const key = shadowKey(address);
    let shadow = this.#shadows.get(key);
    if (shadow === undefined) {
      shadow = {
        device,
        address,
        prefix: this.topics.prefixOf(address),
        version: undefined,
        inFlight: undefined,
        confirmed: {},
        pending: {},
        desiredBytes: 0,
        needsGet: true,
        lastUpdateAt: -Infinity,
        isUrgent: false,
        backoffUntil: 0,
        backoffMs: 0,
        handled: new Map(),
        isOverBudgetWarned: false,
      };
      this.#shadows.set(key, shadow);
    }
    return shadow;
  }

  #tick(): void {
    if (!this.#isOnline) return;
    const now = this.#options.now();
    for (const shadow of this.#shadows.values()) {
      if (shadow.inFlight !== undefined && now - shadow.inFlight.sentAt > this.#responseTimeoutMs) {
        this.#byToken.delete(shadow.inFlight.token);
        this.#requeue(shadow);
      }
    }
    // Longest-waiting first, so a busy fleet shares the per-thing budget fairly.
    const due = [...this.#shadows.values()]
      .filter((s) => this.#isDue(s, now))
      .sort((a, b) => a.lastUpdateAt - b.lastUpdateAt);
    for (const shadow of due) {
      if (!this.#hasBudget(shadow.address.thing, now)) continue;
      this.#send(shadow, now);
    }
  }

  #isDue(shadow: LeafShadow, now: number): boolean {
    if (shadow.inFlight !== undefined || now < shadow.backoffUntil) return false;
    if (shadow.needsGet) return true;
    shadow.pending = changedFields(shadow.pending, shadow.confirmed);
    if (Object.keys(shadow.pending).length === 0) return false;
    return shadow.isUrgent || now - shadow.lastUpdateAt >= this.#options.config.minIntervalMs;
  }

  #hasBudget(thing: string, now: number): boolean {
    // Counted by when requests go on the wire, plus those still waiting for the connection's rate
    // limiter: they may leave together, and the service counts arrivals.
    const recent = (this.#recent.get(thing) ?? []).filter((t) => now - t < 1000);
    this.#recent.set(thing, recent);
    const inFlight = [...this.#shadows.values()].filter(
      (s) => s.address.thing === thing && s.inFlight !== undefined,
    );
    const waiting = inFlight.filter((s) => s.inFlight!.onWireAt === undefined).length;
    return (
      recent.length + waiting < Math.floor(this.#options.config.maxUpdatesPerSecond) &&
      inFlight.length < MAX_IN_FLIGHT_PER_THING
    );
  }

  #send(shadow: LeafShadow, now: number): void {
    const token = `fg-${this.#nextToken++}`;
    this.#byToken.set(token, shadow);
    let topic: string;
    let body: object;
    if (shadow.needsGet) {
      shadow.inFlight = { token, kind: 'get', sent: {}, sentAt: now };
      topic = `${shadow.prefix}/get`;
      body = { clientToken: token };
    } else {
      const sent = this.#withinBudget(shadow);
      shadow.pending = {};
      shadow.isUrgent = false;
      shadow.lastUpdateAt = now;
      shadow.inFlight = { token, kind: 'update', sent, sentAt: now };
      topic = `${shadow.prefix}/update`;
      body = {
        state: { reported: sent },
        clientToken: token,
        ...(shadow.version === undefined ? {} : { version: shadow.version }),
      };
    }
    void this.#deliver(shadow, token, topic, body);
  }

  async #deliver(shadow: LeafShadow, token: string, topic: string, body: object): Promise<void> {
    let isAcked = false;
    try {
      await this.#options.pace();
      const inFlight = shadow.inFlight;
      if (inFlight?.token === token) {
        inFlight.onWireAt = this.#options.now();
        const recent = this.#recent.get(shadow.address.thing) ?? [];
        this.#recent.set(shadow.address.thing, recent);
        recent.push(inFlight.onWireAt);
        isAcked = await this.#options.publish(topic, body);
      }
    } catch {
      isAcked = false;
    }
    if (!isAcked && shadow.inFlight?.token === token) {
      this.#byToken.delete(token);
      this.#requeue(shadow);
    }
  }

  /** The pending fields, minus new ones that would take the document past 8 KB. */
  #withinBudget(shadow: LeafShadow): Patch {
    const budget = MAX_STATE_BYTES - shadow.desiredBytes;
    const sent: Patch = {};
    const merged: Patch = { ...shadow.confirmed };
    for (const [field, value] of Object.entries(shadow.pending)) {
      const candidate = { ...merged, [field]: value };
      if (field in shadow.confirmed || patchBytes(candidate) <= budget) {
        sent[field] = value;
        merged[field] = value;
      } else if (!shadow.isOverBudgetWarned) {
        shadow.isOverBudgetWarned = true;
        this.#log.warn(
          { device: shadow.device, field, maxBytes: MAX_STATE_BYTES },
          'Shadow document would exceed 8 KB; new reported fields are left out.',
        );
      }
    }
    return sent;
  }

  #requeue(shadow: LeafShadow): void {
    const inFlight = shadow.inFlight;
    if (inFlight === undefined) return;
    shadow.inFlight = undefined;
    if (inFlight.kind === 'update') shadow.pending = { ...inFlight.sent, ...shadow.pending };
    else shadow.needsGet = true;
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
