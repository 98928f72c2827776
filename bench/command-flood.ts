/**
 * `npm run build && node dist/bench/command-flood.js --rate 10000 --seconds 60`: floods the command topic
 * of a real daemon (systemd unit heap settings, a real Mosquitto on loopback) and prints one JSON line:
 * achieved flood rate, the daemon's peak RSS and CPU use, WARN lines per minute, telemetry readings per second that
 * reached the broker meanwhile, whether the daemon survived, and its intake counters.
 *
 * Options: `--rate N` (messages/s, default 10,000), `--seconds N` (default 60), `--payload
 * unknownDevice|garbage` (default unknownDevice: well-formed commands that each want a result).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { controlRequest } from '../src/control/client.js';
import type { StatusSnapshot } from '../src/health/status.js';
import { decodeBatch } from '../src/upstream/common/batch-payload.js';
import { floodCommands, type FloodPayload } from './support/command-flood.js';
import { daemonNodeOptions } from './support/daemon.js';
import { Mosquitto } from './support/mosquitto.js';
import { cpuSeconds, rssBytes } from './support/proc.js';
import { waitUntil } from './support/wait.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '60' },
    payload: { type: 'string', default: 'unknownDevice' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const MAIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../src/main.js');

const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-flood-'));
const broker = await Mosquitto.start({ dir: path.join(dir, 'mosquitto'), persistence: false });
const socket = path.join(dir, 'control.sock');
const config = {
  gateway: { id: 'bench', stateDir: path.join(dir, 'state') },
  log: { level: 'info' },
  control: { socket },
  adapters: {
    sim: {
      type: 'sim',
      fleet: { climate: 10, switch: 1, contact: 0, sleepy: 0 },
      reportIntervalMs: 100,
      jitterMs: 10,
      seed: 1,
    },
  },
  routes: { local: { upstream: { type: 'mqtt', url: `mqtt://127.0.0.1:${broker.port}` } } },
};
await writeFile(path.join(dir, 'fieldgate.yaml'), stringify(config));

let readings = 0;
const cloud = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
  clientId: `cloud-${process.pid}`,
});
cloud.on('message', (_topic, payload) => (readings += decodeBatch(payload).readings.length));
await cloud.subscribeAsync('fieldgate/bench/telemetry', { qos: 1 });

const child = spawn(process.execPath, [MAIN, 'run', '--config', path.join(dir, 'fieldgate.yaml')], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, NODE_OPTIONS: await daemonNodeOptions() },
});
let warns = 0;
/** Distinct WARN messages, to tell what the warnings were about. */
const warnMessages = new Set<string>();
let started = false;
let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  const text = chunk.toString();
  tail = (tail + text).slice(-4000);
  if (text.includes('fieldgate started.')) started = true;
  for (const line of text.split('\n')) {
    if (!line.includes('"level":40')) continue;
    warns += 1;
    warnMessages.add(/"msg":"([^"]*)"/.exec(line)?.[1] ?? line);
  }
});
child.stderr.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000)));
await waitUntil(() => Promise.resolve(started), 'the daemon to start', 60_000);
await waitUntil(() => Promise.resolve(readings > 0), 'telemetry', 60_000);

let peakRss = 0;
let isSampling = true;
const sampler = (async () => {
  while (isSampling && child.exitCode === null && child.signalCode === null) {
    peakRss = Math.max(peakRss, await rssBytes(child.pid!).catch(() => 0));
    await new Promise((r) => setTimeout(r, 250));
  }
})();
const warnsBefore = warns;
const cpuBefore = await cpuSeconds(child.pid!);
const readingsBefore = readings;
const flood = await floodCommands({
  port: broker.port,
  topic: 'fieldgate/bench/commands',
  ratePerS: rate,
  durationMs: seconds * 1000,
  payload: values.payload as FloodPayload,
});
isSampling = false;
await sampler;
const minutes = flood.elapsedMs / 60_000;
const isAlive = child.exitCode === null && child.signalCode === null;
const cpuDuring = isAlive ? (await cpuSeconds(child.pid!)) - cpuBefore : Number.NaN;
const status = isAlive
  ? await controlRequest<StatusSnapshot>(socket, 'GET', '/v1/status').catch(() => undefined)
  : undefined;
console.log(
  JSON.stringify({
    offeredPerS: rate,
    achievedPerS: Math.round((flood.sent * 1000) / flood.elapsedMs),
    seconds: flood.elapsedMs / 1000,
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    warnLinesPerMin: Math.round((warns - warnsBefore) / minutes),
    /** The daemon's CPU use during the flood, in percent of one core. */
    daemonCpuPct: Math.round((cpuDuring * 100_000) / flood.elapsedMs),
    telemetryReadingsPerS: Math.round(((readings - readingsBefore) * 1000) / flood.elapsedMs),
    daemon: isAlive ? 'alive' : `exited (${child.exitCode ?? child.signalCode})`,
    intake: status?.routes[0]?.commandIntake,
    warnings: [...warnMessages],
  }),
);
if (!isAlive) console.error(tail);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await cloud.endAsync(true);
await broker.stop();
await rm(dir, { recursive: true, force: true });
