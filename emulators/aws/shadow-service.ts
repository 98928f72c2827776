import type { Aedes } from 'aedes';
import type { Logger } from '../../src/logger.js';
import { shadowNameViolation } from '../../src/upstream/aws/protocol/shadow-topics.js';
import type { Meter } from './meter.js';
import {
  applyUpdate,
  computeDelta,
  deltaMetadata,
  documentState,
  emptyShadow,
  isJsonObject,
  parseUpdateRequest,
  touchedMetadata,
  type JsonObject,
  type ShadowError,
  type ShadowRecord,
} from './shadow-document.js';

/**
 * `$aws/things/{thing}/shadow[/name/{shadow}]/{update|get|delete}`
 * (docs/clouds/aws-iot-core.md#device-shadow).
 */
const REQUEST_TOPIC = /^\$aws\/things\/([^/]+)\/shadow(?:\/name\/([^/]+))?\/(update|get|delete)$/;

/**
 * IoT Core serves each thing at most this many shadow requests per second; beyond, 429
 * (docs/clouds/aws-iot-core.md#device-shadow).
 */
export const SHADOW_REQUESTS_PER_SECOND_PER_THING = 20;
/**
 * Unanswered shadow requests one connection may have; the next is answered 429 at once
 * (docs/clouds/aws-iot-core.md#device-shadow).
 */
export const SHADOW_IN_FLIGHT_PER_CONNECTION = 10;

export type ShadowOperation = 'update' | 'get' | 'delete';

/** A shadow request as the cloud side sees it, for tests that assert the gateway's shadow traffic. */
export interface ShadowRequestRecord {
  thing: string;
  /** Undefined for the classic shadow. */
  shadow?: string;
  operation: ShadowOperation;
  /** The code of the rejection, or 200. */
  code: number;
  atMs: number;
}

/** The outcome of a shadow operation: the body `/accepted` carries, or the `/rejected` error. */
export type ShadowOutcome = { body: JsonObject } | { error: ShadowError };

interface Address {
  thing: string;
  shadow: string | undefined;
}

export interface ShadowServiceOptions {
  aedes: Aedes;
  meter: Meter;
  log: Logger;
  /** Whether a thing is registered: shadows of unknown things answer 404 "Thing not found". */
  hasThing: (thing: string) => boolean;
  /**
   * How long the service takes to answer an MQTT request, so requests are in flight as on the real
   * service and the 10-in-flight limit can be reached; default 5 ms, 0 answers synchronously.
   */
  latencyMs?: number;
  now?: () => number;
}

/**
 * The Device Shadow service of the emulated IoT Core (docs/clouds/aws-iot-core.md#device-shadow,
 * #what-the-emulator-must-do): classic and named
 * shadows over MQTT, answered on `/accepted` and `/rejected`, with `/update/delta` after every accepted
 * update that leaves desired ≠ reported and `/update/documents` after every accepted update. The cloud
 * side (an app calling UpdateThingShadow) uses `update`/`get` directly, with the same notifications.
 *
 * MQTT requests are answered after `latencyMs`, in arrival order. Both throttles answer "429 Too Many
 * Requests": beyond 10 unanswered requests on one connection (counted per connection, the stricter of
 * the two readings in docs/clouds/aws-iot-core.md#device-shadow for a gateway that multiplexes many things),
 * and beyond 20 requests per second
 * per thing. A thing must be registered to have shadows (404 "Thing not found" otherwise), so a classic
 * leaf thing needs `registry.putThing` as well as a policy that lets the gateway use its topics.
 */
export class ShadowService {
  readonly #aedes: Aedes;
  readonly #meter: Meter;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #shadows = new Map<string, ShadowRecord>();
  readonly #windows = new Map<string, { startMs: number; count: number }>();
  readonly #requests: ShadowRequestRecord[] = [];
  readonly #hasThing: (thing: string) => boolean;
  readonly #latencyMs: number;
  /** Unanswered requests per connection (client id). */
  readonly #inFlight = new Map<string, number>();
  /** Answers waiting for `hold` to end, in arrival order; undefined while not held. */
  #held: (() => void)[] | undefined;

  constructor(options: ShadowServiceOptions) {
    this.#aedes = options.aedes;
    this.#meter = options.meter;
    this.#log = options.log.child({ component: 'aws-shadow' });
    this.#now = options.now ?? Date.now;
    this.#hasThing = options.hasThing;
    this.#latencyMs = options.latencyMs ?? 5;
    this.#aedes.on('publish', (packet, client) => {
      // Only device requests: the service's own responses (no client) must not loop back.
      if (client === null) return;
      const match = REQUEST_TOPIC.exec(packet.topic);
      if (match === null) return;
      const address = { thing: match[1]!, shadow: match[2] };
      this.#accept(client.id, address, match[3] as ShadowOperation, Buffer.from(packet.payload));
    });
  }

  /**
   * Stop answering MQTT requests until the returned function is called, as a stalled service would;
   * requests keep arriving and count as in flight. For tests of the in-flight limit.
   */
  hold(): () => void {
    this.#held ??= [];
    return () => {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const answer of held) answer();
    };
  }

  /** Every shadow request seen over MQTT, oldest first. */
  requests(): readonly ShadowRequestRecord[] {
    return this.#requests;
  }

  /** The stored document (GET's body), or undefined when the shadow does not exist. */
  document(thing: string, shadow?: string): JsonObject | undefined {
    const record = this.#shadows.get(keyOf({ thing, shadow }));
    return record?.exists === true ? this.#fullDocument(record, true) : undefined;
  }

  /** UpdateThingShadow from the cloud side: same rules and notifications as an MQTT `/update`. */
  update(thing: string, shadow: string | undefined, request: JsonObject): ShadowOutcome {
    const badName = shadowNameViolation({ thing, ...(shadow === undefined ? {} : { shadow }) });
    if (badName !== undefined) return { error: { code: 400, message: `Invalid request: ${badName}` } };
    if (!this.#hasThing(thing)) return { error: { code: 404, message: 'Thing not found' } };
    return this.#update({ thing, shadow }, Buffer.from(JSON.stringify(request)));
  }

  /**
   * The data plane's UpdateThingShadow, GetThingShadow and DeleteThingShadow: the MQTT rules (names,
   * 20/s per thing, the document rules), answered to the caller; an accepted update or delete notifies
   * devices on the usual topics, a get does not.
   */
  serviceRequest(
    operation: ShadowOperation,
    thing: string,
    shadow: string | undefined,
    payload: Buffer,
  ): ShadowOutcome {
    const address = { thing, shadow };
    const badName = shadowNameViolation({ thing, ...(shadow === undefined ? {} : { shadow }) });
    if (badName !== undefined) return { error: { code: 400, message: `Invalid request: ${badName}` } };
    if (this.#isOverRate(thing, this.#now())) return { error: { code: 429, message: 'Too Many Requests' } };
    if (!this.#hasThing(thing)) return { error: { code: 404, message: 'Thing not found' } };
    if (operation === 'update') return this.#update(address, payload);
    if (operation === 'get') return this.#get(address);
    const outcome = this.#delete(address);
    if (!('error' in outcome)) this.#publish(`${prefixOf(address)}/delete/accepted`, outcome.body);
    return outcome;
  }

  #accept(clientId: string, address: Address, operation: ShadowOperation, payload: Buffer): void {
    const arrivedAtMs = this.#now();
    const inFlight = this.#inFlight.get(clientId) ?? 0;
    if (inFlight >= SHADOW_IN_FLIGHT_PER_CONNECTION) {
      this.#serve(address, operation, payload, arrivedAtMs, true);
      return;
    }
    this.#inFlight.set(clientId, inFlight + 1);
    const answer = (): void => {
      const left = (this.#inFlight.get(clientId) ?? 1) - 1;
      if (left === 0) this.#inFlight.delete(clientId);
      else this.#inFlight.set(clientId, left);
      this.#serve(address, operation, payload, arrivedAtMs, false);
    };
    if (this.#held !== undefined) this.#held.push(answer);
    else if (this.#latencyMs === 0) answer();
    else setTimeout(answer, this.#latencyMs).unref();
  }

  #serve(
    address: Address,
    operation: ShadowOperation,
    payload: Buffer,
    arrivedAtMs: number,
    isOverInFlight: boolean,
  ): void {
    let outcome: ShadowOutcome;
    const { thing, shadow } = address;
    const badName = shadowNameViolation({ thing, ...(shadow === undefined ? {} : { shadow }) });
    if (badName !== undefined) {
      outcome = { error: { code: 400, message: `Invalid request: ${badName}` } };
    } else if (isOverInFlight || this.#isOverRate(address.thing, arrivedAtMs)) {
      outcome = { error: { code: 429, message: 'Too Many Requests' } };
    } else if (!this.#hasThing(address.thing)) {
      outcome = { error: { code: 404, message: 'Thing not found' } };
    } else if (operation === 'update') {
      outcome = this.#update(address, payload);
    } else if (operation === 'get') {
      outcome = this.#get(address);
    } else {
      outcome = this.#delete(address);
    }
    this.#requests.push({
      thing: address.thing,
      ...(address.shadow === undefined ? {} : { shadow: address.shadow }),
      operation,
      code: 'error' in outcome ? outcome.error.code : 200,
      atMs: arrivedAtMs,
    });
    const token = clientTokenOf(payload);
    const base = `${prefixOf(address)}/${operation}`;
    if ('error' in outcome) {
      this.#log.debug({ ...address, operation, ...outcome.error }, 'Shadow request rejected.');
      this.#publish(`${base}/rejected`, {
        ...outcome.error,
        timestamp: this.#seconds(),
        ...(token === undefined ? {} : { clientToken: token }),
      });
    } else if (operation !== 'update') {
      // Updates publish their own `/accepted`, also when the cloud side calls `update` directly.
      this.#publish(`${base}/accepted`, {
        ...outcome.body,
        ...(token === undefined ? {} : { clientToken: token }),
      });
    }
  }

  #update(address: Address, payload: Buffer): ShadowOutcome {
    const parsed = parseUpdateRequest(payload);
    if ('error' in parsed) return parsed;
    const { request } = parsed;
    const key = keyOf(address);
    const previous = this.#shadows.get(key) ?? emptyShadow();
    const timestamp = this.#seconds();
    const applied = applyUpdate(previous, request, timestamp);
    if ('error' in applied) return applied;
    const { record } = applied;
    this.#shadows.set(key, record);
    this.#meter.shadowOperation(payload.length);
    const token = request.clientToken === undefined ? {} : { clientToken: request.clientToken };
    const prefix = prefixOf(address);
    const accepted: JsonObject = {
      state: request.state,
      metadata: touchedSections(request.state, timestamp),
      version: record.version,
      timestamp,
      ...token,
    };
    this.#publish(`${prefix}/update/accepted`, accepted);
    this.#publish(`${prefix}/update/documents`, {
      previous: previous.exists ? this.#versionedDocument(previous) : null,
      current: this.#versionedDocument(record),
      timestamp,
      ...token,
    });
    const delta = computeDelta(record.desired, record.reported);
    if (delta !== undefined) {
      this.#publish(`${prefix}/update/delta`, {
        version: record.version,
        timestamp,
        state: delta,
        metadata: deltaMetadata(delta, record.metadata.desired),
        ...token,
      });
    }
    return { body: accepted };
  }

  #get(address: Address): ShadowOutcome {
    const record = this.#shadows.get(keyOf(address));
    if (record?.exists !== true) return { error: notFound(address) };
    this.#meter.shadowOperation(0);
    return { body: this.#fullDocument(record, true) };
  }

  #delete(address: Address): ShadowOutcome {
    const key = keyOf(address);
    const record = this.#shadows.get(key);
    if (record?.exists !== true) return { error: notFound(address) };
    // The version counter survives a delete (docs/clouds/aws-iot-core.md#device-shadow): a new shadow of this
    // name continues from it.
    this.#shadows.set(key, { metadata: {}, version: record.version, exists: false });
    this.#meter.shadowOperation(0);
    return { body: { version: record.version, timestamp: this.#seconds() } };
  }

  #fullDocument(record: ShadowRecord, withDelta: boolean): JsonObject {
    return {
      state: documentState(record, withDelta),
      metadata: record.metadata,
      version: record.version,
      timestamp: this.#seconds(),
    };
  }

  #versionedDocument(record: ShadowRecord): JsonObject {
    return {
      state: documentState(record, false),
      metadata: record.metadata,
      version: record.version,
    };
  }

  #isOverRate(thing: string, nowMs: number): boolean {
    const window = this.#windows.get(thing);
    if (window === undefined || nowMs - window.startMs >= 1000) {
      this.#windows.set(thing, { startMs: nowMs, count: 1 });
      return false;
    }
    window.count += 1;
    return window.count > SHADOW_REQUESTS_PER_SECOND_PER_THING;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #publish(topic: string, body: JsonObject): void {
    const payload = Buffer.from(JSON.stringify(body));
    this.#aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (e) => {
      if (e) this.#log.debug({ err: e, topic }, 'Publishing a shadow response failed.');
    });
  }
}

function keyOf(address: Address): string {
  return `${address.thing}\u0000${address.shadow ?? ''}`;
}

function prefixOf(address: Address): string {
  const base = `$aws/things/${address.thing}/shadow`;
  return address.shadow === undefined ? base : `${base}/name/${address.shadow}`;
}

function notFound(address: Address): ShadowError {
  return { code: 404, message: `No shadow exists with name: '${address.shadow ?? address.thing}'` };
}

/** `clientToken` of a request body, echoed on every response even when the request was rejected. */
function clientTokenOf(payload: Buffer): string | undefined {
  try {
    const body: unknown = JSON.parse(payload.toString('utf8'));
    return isJsonObject(body) && typeof body.clientToken === 'string' ? body.clientToken : undefined;
  } catch {
    return undefined;
  }
}

function touchedSections(
  state: { desired?: JsonObject | null; reported?: JsonObject | null },
  timestampS: number,
): JsonObject {
  const meta: JsonObject = {};
  if (isJsonObject(state.desired)) meta.desired = touchedMetadata(state.desired, timestampS);
  if (isJsonObject(state.reported)) meta.reported = touchedMetadata(state.reported, timestampS);
  return meta;
}
