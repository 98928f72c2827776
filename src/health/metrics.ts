import { readFileSync } from 'node:fs';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatusSnapshot } from './status.js';

/**
 * The Prometheus view of the gateway. App metrics carry the `fieldgate_` prefix and are read from one
 * status snapshot per scrape, so `/metrics` and `fieldgate status` never disagree; Node's default metrics
 * stay unprefixed (`process_*`, `nodejs_*`) so stock dashboards work. No per-device label: on a large mesh
 * it would grow without bound.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  #snapshot: StatusSnapshot | undefined;

  constructor(
    private readonly status: () => StatusSnapshot,
    private readonly writtenBytes: () => number | undefined = processWriteBytes,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.#define();
  }

  /** The exposition text for one scrape. */
  async render(): Promise<string> {
    this.#snapshot = this.status();
    try {
      return await this.registry.metrics();
    } finally {
      this.#snapshot = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #define(): void {
    const registers = [this.registry];
    const snap = (): StatusSnapshot => this.#snapshot ?? this.status();
    /** A counter mirrored from a monotonic value kept elsewhere: reset, then set to that value. */
    const mirroredCounter = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      read: (s: StatusSnapshot) => [Partial<Record<L, string>>, number][],
    ) =>
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, value] of read(snap())) this.inc(labels, value);
        },
      });
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      read: (s: StatusSnapshot) => [Partial<Record<L, string>>, number][],
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, value] of read(snap())) this.set(labels, value);
        },
      });

    gauge('fieldgate_build_info', 'Version of fieldgate and Node.js; always 1.', ['version', 'node'], (s) => [
      [{ version: s.version, node: process.version }, 1],
    ]);
    mirroredCounter(
      'fieldgate_readings_received_total',
      'Readings emitted by each adapter.',
      ['adapter'],
      (s) => s.adapters.map((a) => [{ adapter: a.name }, a.readings]),
    );
    mirroredCounter(
      'fieldgate_adapter_frames_dropped_total',
      'Frames a radio delivered that its adapter could not decode, by reason.',
      ['adapter', 'reason'],
      (s) =>
        s.adapters.flatMap((a) =>
          Object.entries(a.droppedFrames ?? {}).map(
            ([reason, n]): [Record<'adapter' | 'reason', string>, number] => [{ adapter: a.name, reason }, n],
          ),
        ),
    );
    mirroredCounter(
      'fieldgate_readings_sent_total',
      'Readings delivered upstream, by route.',
      ['route'],
      (s) => s.routes.map((r) => [{ route: r.name }, r.forwarder.sentReadings]),
    );
    mirroredCounter(
      'fieldgate_pipeline_filtered_total',
      'Readings the pipeline filter dropped (deadband, interval, exclude).',
      [],
      (s) => [[{}, s.pipeline?.filtered ?? 0]],
    );
    gauge('fieldgate_queue_depth_readings', 'Readings stored and not yet acknowledged.', ['route'], (s) =>
      s.routes.map((r) => [{ route: r.name }, r.queue.depth]),
    );
    gauge('fieldgate_queue_bytes', 'Bytes of stored readings.', ['route'], (s) =>
      s.routes.map((r) => [{ route: r.name }, r.queue.bytes]),
    );
    gauge('fieldgate_queue_oldest_age_seconds', 'Age of the oldest stored reading.', ['route'], (s) =>
      s.routes.map((r) => [{ route: r.name }, r.queue.oldestAgeMs / 1000]),
    );
    gauge('fieldgate_queue_dead_letters', 'Readings the upstream refused permanently.', ['route'], (s) =>
      s.routes.map((r) => [{ route: r.name }, r.queue.deadLetters]),
    );
    mirroredCounter(
      'fieldgate_queue_dropped_total',
      'Readings dropped, by reason.',
      ['route', 'reason'],
      (s) =>
        s.routes.flatMap((r) =>
          Object.entries(r.queue.dropped).map(([reason, n]): [Record<'route' | 'reason', string>, number] => [
            { route: r.name, reason },
            n,
          ]),
        ),
    );
    mirroredCounter(
      'fieldgate_upstream_billed_units_total',
      'Units the cloud bills for a route (Azure 4 KB units, AWS messages and operations), since start.',
      ['route'],
      (s) =>
        s.routes.flatMap((r): [Record<'route', string>, number][] =>
          r.forwarder.billing === undefined ? [] : [[{ route: r.name }, r.forwarder.billing.billedUnits]],
        ),
    );
    mirroredCounter(
      'fieldgate_upstream_operations_total',
      'Billable cloud operations of a route by kind (d2c, c2d, twinRead, method, publishIn, shadow, …).',
      ['route', 'operation'],
      (s) =>
        s.routes.flatMap((r): [Record<'route' | 'operation', string>, number][] =>
          Object.entries(r.forwarder.billing?.operations ?? {}).map(([operation, n]) => [
            { route: r.name, operation },
            n,
          ]),
        ),
    );
    mirroredCounter(
      'fieldgate_send_failures_total',
      'Failed sends: transient (connect, timeout, throttled; retried) or rejected (dead-lettered).',
      ['route', 'kind'],
      (s) =>
        s.routes.flatMap((r): [Record<'route' | 'kind', string>, number][] => [
          [{ route: r.name, kind: 'transient' }, r.forwarder.failures],
          [{ route: r.name, kind: 'rejected' }, r.forwarder.rejected],
        ]),
    );
    mirroredCounter(
      'fieldgate_commands_refused_total',
      'Commands from the cloud refused at intake, by route and reason (rate, inFlight, oversize, invalid).',
      ['route', 'reason'],
      (s) =>
        s.routes.flatMap((r) =>
          Object.entries(r.commandIntake?.refused ?? {}).map(
            ([reason, n]): [Record<'route' | 'reason', string>, number] => [{ route: r.name, reason }, n],
          ),
        ),
    );
    gauge('fieldgate_upstream_connected', '1 while the route can send, 0 while offline.', ['route'], (s) =>
      s.routes.map((r) => [{ route: r.name }, isConnected(r.forwarder.state) ? 1 : 0]),
    );
    gauge('fieldgate_devices', 'Known devices by availability.', ['availability'], (s) =>
      Object.entries(s.devices).map(([availability, n]) => [{ availability }, n]),
    );
    gauge('fieldgate_storage_used_bytes', 'Bytes the queue store holds (its quota accounting).', [], (s) => [
      [{}, s.storage.bytes],
    ]);
    mirroredCounter(
      'fieldgate_storage_written_bytes_total',
      'Bytes this process wrote to the block layer (/proc/self/io): the wear it puts on an SD card.',
      [],
      () => {
        const bytes = this.writtenBytes();
        return bytes === undefined ? [] : [[{}, bytes]];
      },
    );
  }
}

function isConnected(state: StatusSnapshot['routes'][number]['forwarder']['state']): boolean {
  return state === 'idle' || state === 'sending';
}

/** `write_bytes` from /proc/self/io, or undefined where procfs does not offer it. */
function processWriteBytes(): number | undefined {
  try {
    const match = /^write_bytes:\s*(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}
