import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { controlRequest } from '../../src/control/client.js';
import type { StatusSnapshot } from '../../src/health/status.js';
import type { DeviceInfo } from '../../src/model.js';
import type { QueueStats } from '../../src/queue/queue.js';
import { cpuSeconds, rssBytes, storageWriteBytes } from './proc.js';
import { waitUntil } from './wait.js';

/**
 * The daemon the bench runs: this checkout's `dist/src/main.js`, or a release tree's when
 * `FIELDGATE_BENCH_APP` names one (an unpacked `npm run package` tarball, or `/usr/lib/fieldgate`), to
 * measure what a gateway installs: a release ships its dependencies minified (scripts/compact-js.mjs).
 */
const MAIN =
  process.env.FIELDGATE_BENCH_APP === undefined
    ? fileURLToPath(new URL('../../src/main.js', import.meta.url))
    : path.join(process.env.FIELDGATE_BENCH_APP, 'dist/src/main.js');
/** The unit the package installs, seen from `dist/bench/support/`: its `NODE_OPTIONS` size V8's heap. */
const UNIT = fileURLToPath(new URL('../../../systemd/fieldgate.service', import.meta.url));
/** Output kept for error messages; the daemon logs no per-reading lines at info, but runs can be long. */
const OUTPUT_TAIL_CHARS = 20_000;

export interface SimFleet {
  climate: number;
  reportIntervalMs: number;
  jitterMs?: number;
  batchSize?: number;
}

export interface BenchConfig {
  dir: string;
  /** Where the route's MQTT upstream connects (a live Mosquitto, or a port where nothing listens). */
  upstreamPort: number;
  /** Sim adapters by name; device ids are `<name>:climate-NNNN`. */
  adapters: Record<string, SimFleet>;
  drain?: 'fifo' | 'liveFirst';
  batchMaxItems?: number;
  /** The route's upstream as in the config file; default: MQTT to `upstreamPort`. */
  upstream?: Record<string, unknown>;
  /** Further adapters, as they appear under `adapters:` in the config file (radios). */
  extraAdapters?: Record<string, Record<string, unknown>>;
  /** `NODE_OPTIONS` for this daemon; default: `daemonNodeOptions()`. */
  nodeOptions?: string;
  /** The `web:` section (the status page), when the run measures it. */
  web?: Record<string, unknown>;
}

/** Readings per emit of a full-speed sim adapter, by default. */
const FULL_SPEED_BATCH = 100;

/**
 * `devices` sim devices at full speed, spread over `adapters` sim adapters named `sim0`, `sim1`…
 *
 * One sim adapter at full speed keeps one emit of `batchSize` readings in flight, and an emit resolves only
 * at the group commit, so one adapter offers at most `batchSize / commitIntervalMs` (500 readings/s with
 * 100 and the defaults) until the emits in flight reach the commit size (2,000): from there commits start
 * at once, one after another, and the daemon, not the fleet, sets the pace. Several adapters, like several
 * radios, keep several emits in flight, and the group commit takes them together.
 */
export function fullSpeedFleets(
  adapters: number,
  devices: number,
  batchSize = FULL_SPEED_BATCH,
): Record<string, SimFleet> {
  return Object.fromEntries(
    Array.from({ length: adapters }, (_, i) => [
      `sim${i}`,
      { climate: Math.ceil(devices / adapters), reportIntervalMs: 0, batchSize },
    ]),
  );
}

/** The gateway id of every bench daemon: its telemetry topic is `fieldgate/bench/telemetry`. */
export const BENCH_GATEWAY = 'bench';
export const BENCH_ROUTE = 'local';

/** A production-like config: group commit with fsync (the defaults), MQTT QoS 1, only what the run needs. */
function configFor(config: BenchConfig): Record<string, unknown> {
  const adapters = Object.fromEntries(
    Object.entries(config.adapters).map(([name, fleet]) => [
      name,
      {
        type: 'sim',
        fleet: { climate: fleet.climate, switch: 0, contact: 0, sleepy: 0 },
        reportIntervalMs: fleet.reportIntervalMs,
        jitterMs: fleet.jitterMs ?? 0,
        batchSize: fleet.batchSize ?? 1,
        seed: 1,
      },
    ]),
  );
  const route: Record<string, unknown> = {
    upstream: config.upstream ?? { type: 'mqtt', url: `mqtt://127.0.0.1:${config.upstreamPort}` },
    backoff: { initialMs: 100, maxMs: 500 },
  };
  if (config.drain !== undefined) route.drain = config.drain;
  if (config.batchMaxItems !== undefined) route.batch = { maxItems: config.batchMaxItems };
  return {
    gateway: { id: BENCH_GATEWAY, stateDir: path.join(config.dir, 'state') },
    log: { level: 'info' },
    control: { socket: path.join(config.dir, 'control.sock') },
    adapters: { ...adapters, ...config.extraAdapters },
    routes: { [BENCH_ROUTE]: route },
    ...(config.web === undefined ? {} : { web: config.web }),
  };
}

/**
 * The `NODE_OPTIONS` the daemon runs with: `FIELDGATE_BENCH_NODE_OPTIONS` when set (to compare heap
 * settings), otherwise the systemd unit's, so that RSS figures are those of an installed gateway.
 */
export async function daemonNodeOptions(): Promise<string> {
  const override = process.env.FIELDGATE_BENCH_NODE_OPTIONS;
  if (override !== undefined) return override;
  const line = (await readFile(UNIT, 'utf8')).split('\n').find((l) => /^Environment="?NODE_OPTIONS=/.test(l));
  return line?.replace(/^Environment="?NODE_OPTIONS=/, '').replace(/"$/, '') ?? '';
}

/** The real daemon process (`dist/src/main.js run`), with its footprint read from /proc. */
export class BenchDaemon {
  #output = '';
  readonly #exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts the daemon and resolves once it logged `fieldgate started.` */
  static async start(config: BenchConfig): Promise<BenchDaemon> {
    const file = path.join(config.dir, 'fieldgate.yaml');
    const yaml = configFor(config);
    await writeFile(file, stringify(yaml));
    const child = spawn(process.execPath, [MAIN, 'run', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: config.nodeOptions ?? (await daemonNodeOptions()) },
    });
    const daemon = new BenchDaemon(child, (yaml.control as { socket: string }).socket);
    await waitUntil(
      () => daemon.#output.includes('fieldgate started.'),
      'the daemon to start',
      60_000,
      () => (child.exitCode !== null ? `the daemon exited early:\n${daemon.#output}` : undefined),
    );
    return daemon;
  }

  status(): Promise<StatusSnapshot> {
    return controlRequest<StatusSnapshot>(this.socket, 'GET', '/v1/status');
  }

  /** `http://host:port` of the status page, from its start line; undefined when it is off. */
  webUrl(): string | undefined {
    const listen = /"component":"web","listen":"([^"]+)"/.exec(this.#output)?.[1];
    return listen === undefined ? undefined : `http://${listen}`;
  }

  /** Ids of the devices an adapter announced. */
  async deviceIds(adapter: string): Promise<string[]> {
    const query = `/v1/devices?adapter=${encodeURIComponent(adapter)}`;
    const { devices } = await controlRequest<{ devices: DeviceInfo[] }>(this.socket, 'GET', query);
    return devices.map((d) => d.id);
  }

  async queueStats(): Promise<QueueStats> {
    const route = (await this.status()).routes.find((r) => r.name === BENCH_ROUTE);
    if (route === undefined) throw new Error(`the daemon has no route ${BENCH_ROUTE}`);
    return route.queue;
  }

  rssBytes(): Promise<number> {
    return rssBytes(this.child.pid!);
  }

  storageWriteBytes(): Promise<number> {
    return storageWriteBytes(this.child.pid!);
  }

  /** CPU seconds the daemon used so far (all threads: V8's GC helpers and LevelDB's compaction included). */
  cpuSeconds(): Promise<number> {
    return cpuSeconds(this.child.pid!);
  }

  /** SIGTERM (commits and flushes first) and wait for the exit. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.#exited;
  }
}
