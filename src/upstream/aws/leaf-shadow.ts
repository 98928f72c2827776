import { mergePatch, patchBytes, changedFields, type Patch } from './protocol/shadow-patch.js';
import type { ShadowAddress } from './protocol/shadow-topics.js';

/**
 * The 8 KB state document limit (docs/clouds/aws-iot-core.md#device-shadow): desired and reported together,
 * metadata excluded.
 */
export const MAX_STATE_BYTES = 8192;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** The one request a shadow may have outstanding. */
export interface ShadowRequest {
  token: string;
  kind: 'get' | 'update';
  /** The `reported` fields an update carries; empty for a GET. */
  sent: Patch;
  sentAt: number;
  /** When it left for the broker, after pacing; undefined while it waits for the rate limiter. */
  onWireAt?: number;
}

/**
 * What the gateway knows about one leaf's shadow, and how that knowledge changes: readings add pending
 * fields, responses confirm them, conflicts and throttling send them again. No I/O and no timers; the
 * `ShadowSync` scheduler decides when a request goes out and routes responses here.
 */
export class LeafShadow {
  /** The shadow's version as last seen; undefined until a GET or an update told us. */
  version: number | undefined;
  /** `reported` as the service holds it, as far as we know. */
  confirmed: Patch = {};
  /** Changes not yet sent, merged: only the latest value of a field is ever sent. */
  pending: Patch = {};
  /** Read the shadow before the next update: first use, reconnect, version conflict. */
  needsGet = true;
  /** Sent at the next tick, regardless of `minIntervalMs`: the outcome of a desired command. */
  isUrgent = false;
  lastUpdateAt = -Infinity;
  inFlight: ShadowRequest | undefined;
  /** Desired field → the value and timestamp already acted on, so repeated deltas run nothing twice. */
  readonly handled = new Map<string, string>();
  /** Bytes of `desired`, from the last GET: the 8 KB limit covers desired and reported together. */
  #desiredBytes = 0;
  #backoffUntil = 0;
  #backoffMs = 0;
  #isOverBudgetWarned = false;

  constructor(
    readonly device: string,
    readonly address: ShadowAddress,
    /** `$aws/things/{thing}/shadow[/name/{name}]`. */
    readonly prefix: string,
  ) {}

  /** Merge fields to report; `isUrgent` sends them at the next tick. */
  report(fields: Readonly<Patch>, isUrgent = false): void {
    mergePatch(this.pending, fields);
    if (isUrgent) this.isUrgent = true;
  }

  /** True when a request should go out now: a GET is owed, or changed fields are due. */
  isDue(nowMs: number, minIntervalMs: number): boolean {
    if (this.inFlight !== undefined || nowMs < this.#backoffUntil) return false;
    if (this.needsGet) return true;
    this.pending = changedFields(this.pending, this.confirmed);
    if (Object.keys(this.pending).length === 0) return false;
    return this.isUrgent || nowMs - this.lastUpdateAt >= minIntervalMs;
  }

  startGet(token: string, nowMs: number): void {
    this.inFlight = { token, kind: 'get', sent: {}, sentAt: nowMs };
  }

  /**
   * Take the pending fields for an update, minus new ones that would take the document past 8 KB;
   * `onOverBudget` is called once per shadow for the first field left out.
   */
  startUpdate(token: string, nowMs: number, onOverBudget: (field: string) => void): Patch {
    const budget = MAX_STATE_BYTES - this.#desiredBytes;
    const sent: Patch = {};
    const merged: Patch = { ...this.confirmed };
    for (const [field, value] of Object.entries(this.pending)) {
      const candidate = { ...merged, [field]: value };
      if (field in this.confirmed || patchBytes(candidate) <= budget) {
        sent[field] = value;
        merged[field] = value;
      } else if (!this.#isOverBudgetWarned) {
        this.#isOverBudgetWarned = true;
        onOverBudget(field);
      }
    }
    this.pending = {};
    this.isUrgent = false;
    this.lastUpdateAt = nowMs;
    this.inFlight = { token, kind: 'update', sent, sentAt: nowMs };
    return sent;
  }

  /** Forget the outstanding request (lost, timed out, connection gone): its work is owed again. */
  requeue(): void {
    const inFlight = this.inFlight;
    if (inFlight === undefined) return;
    this.inFlight = undefined;
    if (inFlight.kind === 'update') this.pending = { ...inFlight.sent, ...this.pending };
    else this.needsGet = true;
  }

  /** Our GET was answered with the document's `state`; the caller acts on its delta. */
  gotDocument(version: number | undefined, state: Record<string, unknown>): void {
    this.inFlight = undefined;
    this.version = version;
    this.confirmed = (asObject(state.reported) as Patch | undefined) ?? {};
    this.#desiredBytes = state.desired === undefined ? 0 : patchBytes(state.desired as Patch);
    this.pending = changedFields(this.pending, this.confirmed);
    this.needsGet = false;
  }

  /** 404 on our GET: no shadow yet, the first update creates it. */
  notFound(): void {
    this.inFlight = undefined;
    this.needsGet = false;
    this.version = undefined;
    this.confirmed = {};
  }

  /** Our update was accepted at `version`. */
  updated(version: number | undefined): void {
    const sent = this.inFlight?.sent ?? {};
    this.inFlight = undefined;
    mergePatch(this.confirmed, sent, true);
    if (version !== undefined) this.version = version;
    this.#backoffMs = 0;
  }

  /** Someone else wrote since our last read (409): read again, then send our fields on top of theirs. */
  conflicted(): void {
    this.#returnSent();
    this.needsGet = true;
  }

  /** The service refused the update for good (400, 413): those fields are dropped. */
  refused(): void {
    this.inFlight = undefined;
  }

  /**
   * Throttled or failing (429, 5xx): pause this shadow, 1 s doubling to 30 s; an update's fields are
   * kept. Returns true on the first refusal of an episode, so the caller warns once.
   */
  backOff(nowMs: number): boolean {
    if (this.inFlight?.kind === 'update') this.#returnSent();
    this.inFlight = undefined;
    const isFirst = this.#backoffMs === 0;
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, this.#backoffMs * 2));
    this.#backoffUntil = nowMs + this.#backoffMs;
    return isFirst;
  }

  /** Another client's accepted update or a delta told us a newer version. */
  sawVersion(version: number): void {
    this.version = Math.max(this.version ?? 0, version);
  }

  #returnSent(): void {
    const sent = this.inFlight?.sent ?? {};
    this.inFlight = undefined;
    this.pending = { ...sent, ...this.pending };
  }
}

export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
