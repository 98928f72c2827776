import type { AzureUpstreamConfig } from '../../config/upstreams/azure.js';
import type { GatewayStatus } from '../upstream.js';
import type { Logger } from '../../logger.js';

/** The twin as a device reads it: both sections with their `$version`. */
export interface TwinSections {
  desired: Record<string, unknown> & { $version?: number };
  reported: Record<string, unknown>;
}

/**
 * One protocol's twin operations on one open connection (MQTT topics or the AMQP twin link pair). Both
 * reject with an Error on a refusal, a timeout or a lost connection.
 */
export interface TwinChannel {
  get(): Promise<TwinSections>;
  patchReported(patch: Record<string, unknown>): Promise<void>;
}

export interface GatewayTwinOptions {
  /** The gateway's status, as `fieldgate status --json` shows it. */
  status: () => GatewayStatus;
  reportIntervalS: number;
  log: Logger;
  now?: () => number;
}

/** The key under `reported` that fieldgate owns; everything else in the twin is left alone. */
export const REPORTED_KEY = 'fieldgate';

type Doc = Record<string, unknown>;

/**
 * The gateway's own device twin, the same over MQTT and AMQP (docs/clouds/azure-iot-hub.md#mqtt-topics,
 * #amqp-links).
 *
 * After each connect (`attach`): read the whole twin, take its desired properties, then report. Reported
 * properties go under `reported.fieldgate`: version, start time and uptime, health and problems, each
 * adapter's state, and per route its forwarder state, queue depth, readings sent and when sending last
 * made progress (as seen at a report check, so to `reportIntervalS`). A report is a merge patch of only
 * what changed since the twin's last known content (removed keys as `null`), sent at most every
 * `reportIntervalS`, and not at all when nothing but the uptime changed.
 *
 * Desired properties: fieldgate has no setting it can change safely at run time, so none is applied. Each
 * desired version is logged with its keys and acknowledged under `reported.fieldgate.desired`
 * (`{version, applied: [], ignored: [keys]}`), so the operator sees the gateway received it. On a
 * reconnect the full twin is read again and a patch no newer than the version already seen is dropped,
 * as the hub advises (patches are only sent while connected).
 */
export class GatewayTwin {
  /** The desired properties last received (without `$` keys), for logs and tests. */
  desired: Doc = {};
  readonly #options: GatewayTwinOptions;
  readonly #now: () => number;
  #channel: TwinChannel | undefined;
  /** `reported.fieldgate` as the hub holds it, as far as we know. */
  #reported: Doc | undefined;
  #desiredVersion = 0;
  #desiredAck: Doc | undefined;
  #lastReportAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #reporting: Promise<void> = Promise.resolve();
  #startedAt: string | undefined;
  readonly #progress = new Map<string, { sent: number; at: number | undefined }>();

  constructor(options: GatewayTwinOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** A new connection: read the twin, take its desired properties, report, and keep reporting. */
  async attach(channel: TwinChannel): Promise<void> {
    this.#channel = channel;
    clearInterval(this.#timer);
    try {
      const twin = await channel.get();
      if (this.#channel !== channel) return;
      const held = twin.reported[REPORTED_KEY];
      this.#reported = isDoc(held) ? held : {};
      this.#takeDesired(twin.desired, true);
      this.#lastReportAt = -Infinity;
      await this.report();
    } catch (e) {
      this.#options.log.warn(
        { err: e },
        'Reading the device twin failed; status is reported on the next connect.',
      );
      return;
    }
    this.#timer = setInterval(() => void this.report(), this.#options.reportIntervalS * 1000);
    this.#timer.unref();
  }

  /** The connection is gone: stop reporting until the next `attach`. */
  detach(): void {
    this.#channel = undefined;
    clearInterval(this.#timer);
  }

  /** A desired patch pushed by the hub (it carries its `$version`). */
  onDesiredPatch(patch: Doc): void {
    this.#takeDesired(patch, false);
    void this.report(true);
  }

  /**
   * Send what changed in the status, unless the last report was less than `reportIntervalS` ago
   * (`force`: a desired acknowledgement, which the operator waits for). Reports run one after another.
   */
  report(force = false): Promise<void> {
    this.#reporting = this.#reporting
      .then(() => this.#report(force))
      .catch((e: unknown) => this.#options.log.warn({ err: e }, 'Building the twin status report failed.'));
    return this.#reporting;
  }

  async #report(force: boolean): Promise<void> {
    const channel = this.#channel;
    const now = this.#now();
    if (channel === undefined || this.#reported === undefined) return;
    if (!force && now - this.#lastReportAt < this.#options.reportIntervalS * 1000) return;
    const next = this.#document(now);
    const { uptimeS: _held, ...heldRest } = this.#reported;
    const { uptimeS, ...nextRest } = next;
    const patch = mergePatch(heldRest, nextRest);
    if (patch === undefined) return;
    try {
      await channel.patchReported({ [REPORTED_KEY]: { ...patch, uptimeS } });
      this.#reported = next;
      this.#lastReportAt = now;
    } catch (e) {
      this.#options.log.debug({ err: e }, 'Reporting the gateway status in the twin failed; retrying later.');
    }
  }

  #takeDesired(desired: Doc, isFull: boolean): void {
    const version = typeof desired.$version === 'number' ? desired.$version : undefined;
    // A patch no newer than what we hold was already seen; a full twin is the truth even if older (a new hub).
    if (!isFull && version !== undefined && version <= this.#desiredVersion) return;
    const properties = Object.fromEntries(Object.entries(desired).filter(([k]) => !k.startsWith('$')));
    const merged: Doc = isFull ? properties : { ...this.desired, ...properties };
    for (const [key, value] of Object.entries(merged)) if (value === null) delete merged[key];
    this.desired = merged;
    this.#desiredVersion = version ?? this.#desiredVersion;
    const keys = Object.keys(properties);
    if (keys.length > 0 || !isFull) {
      this.#options.log.info(
        { desiredVersion: version, keys },
        'Twin desired properties received; fieldgate applies none at run time (change the config instead).',
      );
    }
    this.#desiredAck = { version: this.#desiredVersion, applied: [], ignored: keys.sort() };
  }

  #document(now: number): Doc {
    const status = this.#options.status();
    const routes: Doc = {};
    for (const r of status.routes) {
      const progress = this.#progress.get(r.name);
      const moved = progress === undefined || r.forwarder.sentReadings > progress.sent;
      const at = moved && r.forwarder.sentReadings > 0 ? now : progress?.at;
      this.#progress.set(r.name, { sent: r.forwarder.sentReadings, at });
      routes[r.name] = {
        state: r.forwarder.state,
        queueDepth: r.queue.depth,
        sentReadings: r.forwarder.sentReadings,
        // Absent until the first delivery: in a twin, `null` would mean "delete".
        ...(at === undefined ? {} : { lastProgressAt: new Date(at).toISOString() }),
      };
    }
    return {
      version: status.version,
      // Fixed at the first report: derived from the rounded uptime it would jitter by a second.
      startedAt: (this.#startedAt ??= new Date(now - status.uptimeS * 1000).toISOString()),
      uptimeS: status.uptimeS,
      healthy: status.healthy,
      problems: status.problems,
      adapters: Object.fromEntries(status.adapters.map((a) => [a.name, a.state])),
      routes,
      desired: this.#desiredAck ?? { version: this.#desiredVersion, applied: [], ignored: [] },
    };
  }
}

/** The gateway twin when the runtime gave us its status and the config leaves the twin on. */
export function twinFor(
  options: { config: AzureUpstreamConfig; status?: () => GatewayStatus; now?: () => number },
  log: Logger,
): GatewayTwin | undefined {
  if (options.status === undefined || !options.config.twin.enabled) return undefined;
  return new GatewayTwin({
    status: options.status,
    reportIntervalS: options.config.twin.reportIntervalS,
    log,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

/**
 * The JSON merge patch (RFC 7396) that turns `held` into `next`: changed values, `null` for removed keys,
 * nested objects diffed key by key; undefined when nothing changed.
 */
export function mergePatch(held: Doc, next: Doc): Doc | undefined {
  const patch: Doc = {};
  for (const key of Object.keys(held)) if (!(key in next)) patch[key] = null;
  for (const [key, value] of Object.entries(next)) {
    const before = held[key];
    if (isDoc(value) && isDoc(before)) {
      const inner = mergePatch(before, value);
      if (inner !== undefined) patch[key] = inner;
    } else if (JSON.stringify(before) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
