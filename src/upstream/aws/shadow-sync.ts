import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';
import type { Logger } from '../../logger.js';
import type { CommandResult, DeviceInfo, Envelope } from '../../model.js';
import type { IncomingCommand } from '../../commands/incoming.js';
import { commandForDesired, reportedAfter } from './desired-commands.js';
import { asObject, LeafShadow, MAX_STATE_BYTES } from './leaf-shadow.js';
import type { ReleaseSlot } from './publish-budget.js';
import type { Patch } from './protocol/shadow-patch.js';
import { shadowKey, ShadowTopics, type ShadowResponse } from './protocol/shadow-topics.js';

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
  /** Waits for a slot of the connection's publish budget (shared with telemetry); rejects when closing. */
  pace: () => Promise<ReleaseSlot>;
  /** Hands a command derived from a `desired` change to the command router (the upstream's handler). */
  submit: (incoming: IncomingCommand) => void;
  /** Called for each request of ours IoT Core accepted (a billed Device Shadow operation). */
  onAccepted?: () => void;
  /** How long a request waits for `/accepted` or `/rejected` before it is sent again; default 10 s. */
  responseTimeoutMs?: number;
}

/**
 * IoT Core answers 429 beyond 10 unacknowledged shadow requests (docs/clouds/aws-iot-core.md#device-shadow:
 * per connection in the error table,
 * per thing in the limits table). Counted over the whole connection, which satisfies both readings and
 * matters in classic mode, where each leaf is its own thing; and kept well below.
 */
const MAX_IN_FLIGHT = 5;
const TICK_MS = 50;
/**
 * `maxUpdatesPerSecond` is held over this window, not over one second: requests sent over 1.25 s may
 * arrive within one second when the network or either event loop delays the first ones, and IoT Core
 * counts arrivals. Tolerates 250 ms of such jitter, at the price of a steady rate of 0.8 × the limit.
 */
const RATE_WINDOW_MS = 1250;

/**
 * Keeps one shadow per leaf in step with the gateway (docs/clouds/aws-iot-core.md#device-shadow):
 *
 * - `reported` follows readings. Only changed fields are sent, merged per shadow and at most once per
 *   `minIntervalMs`, and requests per thing stay within `maxUpdatesPerSecond` in every 1.25 s window
 *   with at most 5 in flight on the connection, so IoT Core's 20/s and 10-in-flight limits are never
 *   reached. New fields that would push the document over 8 KB are left out (WARN once per shadow).
 * - Availability (`deviceState`) goes into `reported` beside the readings' values.
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
  /** Each device's availability as last announced, written into its shadow once it has one. */
  readonly #availability = new Map<string, Patch>();
  /** Send times per thing within the last `RATE_WINDOW_MS`. */
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
    for (const { reading } of batch) this.#shadowOf(reading.device).report(reading.values);
  }

  /**
   * Record a device's availability as `reported.availability` and `reported.availabilityChangedAt`
   * (epoch ms, gateway clock). Only changes count; a device that has not reported through this route yet
   * gets them with its first reading, so a route never creates shadows for devices it does not carry.
   */
  deviceState(info: Pick<DeviceInfo, 'id' | 'availability'>): void {
    const previous = this.#availability.get(info.id);
    if (previous?.availability === info.availability) return;
    const fields = { availability: info.availability, availabilityChangedAt: this.#options.now() };
    this.#availability.set(info.id, fields);
    this.#shadows.get(shadowKey(this.topics.addressOf(info.id)))?.report(fields);
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
    for (const shadow of this.#shadows.values()) shadow.requeue();
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
    command.shadow.report(reportedAfter(command, result), true);
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
      if (version !== undefined) shadow.sawVersion(version);
      this.#actOnDelta(shadow, asObject(body.state), asObject(body.metadata));
      return;
    }
    if (!isOurs) {
      // Someone else's update of this shadow: its version is now the one to send.
      if (response === 'update/accepted' && version !== undefined) shadow.sawVersion(version);
      return;
    }
    this.#byToken.delete(token);
    switch (response) {
      case 'get/accepted': {
        this.#options.onAccepted?.();
        const state = asObject(body.state) ?? {};
        shadow.gotDocument(version, state);
        this.#actOnDelta(shadow, asObject(state.delta), asObject(asObject(body.metadata)?.desired));
        return;
      }
      case 'get/rejected':
        // 404: no shadow yet; the first update creates it. Anything else: read again after a pause.
        if (body.code === 404) shadow.notFound();
        else this.#backOff(shadow, body);
        return;
      case 'update/accepted':
        this.#options.onAccepted?.();
        shadow.updated(version);
        return;
      case 'update/rejected':
        this.#onUpdateRejected(shadow, body);
        return;
    }
  }

  #onUpdateRejected(shadow: LeafShadow, body: Record<string, unknown>): void {
    const code = body.code;
    if (code === 409) {
      this.#log.debug({ device: shadow.device }, 'Shadow version conflict; reading it again.');
      shadow.conflicted();
    } else if (code === 400 || code === 413) {
      shadow.refused();
      this.#log.warn(
        { device: shadow.device, code, message: body.message },
        'IoT Core refused a shadow update; those reported values are skipped.',
      );
    } else {
      this.#backOff(shadow, body);
    }
  }

  #backOff(shadow: LeafShadow, body: Record<string, unknown>): void {
    if (shadow.backOff(this.#options.now())) {
      this.#log.warn(
        { device: shadow.device, code: body.code, message: body.message },
        'IoT Core is throttling or refusing shadow requests; backing off.',
      );
    }
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
        const detail = `no command sets ${field} to ${JSON.stringify(value)}`;
        shadow.report(reportedAfter({ field, value }, { id, status: 'unsupported', detail }), true);
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

  #shadowOf(device: string): LeafShadow {
    const address = this.topics.addressOf(device);
    const key = shadowKey(address);
    let shadow = this.#shadows.get(key);
    if (shadow === undefined) {
      shadow = new LeafShadow(device, address, this.topics.prefixOf(address));
      const availability = this.#availability.get(device);
      if (availability !== undefined) shadow.report(availability);
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
        shadow.requeue();
      }
    }
    // Longest-waiting first, so a busy fleet shares the per-thing budget fairly.
    const due = [...this.#shadows.values()]
      .filter((s) => s.isDue(now, this.#options.config.minIntervalMs))
      .sort((a, b) => a.lastUpdateAt - b.lastUpdateAt);
    for (const shadow of due) {
      if (!this.#hasBudget(shadow.address.thing, now)) continue;
      this.#send(shadow, now);
    }
  }

  #hasBudget(thing: string, now: number): boolean {
    // Counted by when requests go on the wire, plus those still waiting for the connection's rate
    // limiter: they may leave together, and the service counts arrivals.
    const recent = (this.#recent.get(thing) ?? []).filter((t) => now - t < RATE_WINDOW_MS);
    this.#recent.set(thing, recent);
    const inFlight = [...this.#byToken.values()];
    const waiting = inFlight.filter(
      (s) => s.address.thing === thing && s.inFlight?.onWireAt === undefined,
    ).length;
    return (
      recent.length + waiting < Math.floor(this.#options.config.maxUpdatesPerSecond) &&
      inFlight.length < MAX_IN_FLIGHT
    );
  }

  #send(shadow: LeafShadow, now: number): void {
    const token = `fg-${this.#nextToken++}`;
    this.#byToken.set(token, shadow);
    if (shadow.needsGet) {
      shadow.startGet(token, now);
      void this.#deliver(shadow, token, `${shadow.prefix}/get`, { clientToken: token });
      return;
    }
    const sent = shadow.startUpdate(token, now, (field) =>
      this.#log.warn(
        { device: shadow.device, field, maxBytes: MAX_STATE_BYTES },
        'Shadow document would exceed 8 KB; new reported fields are left out.',
      ),
    );
    void this.#deliver(shadow, token, `${shadow.prefix}/update`, {
      state: { reported: sent },
      clientToken: token,
      ...(shadow.version === undefined ? {} : { version: shadow.version }),
    });
  }

  async #deliver(shadow: LeafShadow, token: string, topic: string, body: object): Promise<void> {
    let isAcked = false;
    try {
      const release = await this.#options.pace();
      const inFlight = shadow.inFlight;
      if (inFlight?.token === token) {
        inFlight.onWireAt = this.#options.now();
        const recent = this.#recent.get(shadow.address.thing) ?? [];
        this.#recent.set(shadow.address.thing, recent);
        recent.push(inFlight.onWireAt);
        isAcked = await this.#options.publish(topic, body).finally(release);
      } else {
        release();
      }
    } catch {
      isAcked = false;
    }
    if (!isAcked && shadow.inFlight?.token === token) {
      this.#byToken.delete(token);
      shadow.requeue();
    }
  }
}
