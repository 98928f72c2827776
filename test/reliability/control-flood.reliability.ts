import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';

/** Connections the flood opens and holds; `RELIABILITY_CONTROL_FLOOD` changes it. */
const FLOOD = Number(process.env.RELIABILITY_CONTROL_FLOOD ?? 5000);
/** The daemon's descriptor limit: well under the flood, so the flood alone could take every descriptor. */
const DAEMON_FD_LIMIT = 1024;
/** How long the flood is held: long enough for LevelDB to roll its log and write tables meanwhile. */
const HOLD_S = Number(process.env.RELIABILITY_CONTROL_FLOOD_HOLD_S ?? 20);

/**
 * The flood, in its own process so that its descriptors count against its own limit (raised to the hard
 * limit), not the test runner's. It opens FLOOD connections that send nothing, reports, and holds them
 * until its stdin closes.
 */
const FLOOD_SCRIPT = `
import net from 'node:net';
const socketPath = process.env.FLOOD_SOCKET;
const total = Number(process.env.FLOOD_COUNT);
const counts = { connected: 0, closed: 0, errors: {} };
const sockets = [];
let settled = 0;
function open(i) {
  if (i >= total) return;
  const s = net.connect(socketPath);
  let isSettled = false;
  const settle = () => { if (!isSettled) { isSettled = true; if (++settled === total) report(); } };
  s.on('connect', () => { counts.connected++; settle(); });
  s.resume();
  s.on('error', (e) => { counts.errors[e.code] = (counts.errors[e.code] ?? 0) + 1; settle(); });
  s.on('close', () => counts.closed++);
  sockets.push(s);
  // A few at a time, so the listen backlog is not what refuses them.
  if (i % 50 === 49) setTimeout(() => open(i + 1), 5); else open(i + 1);
}
function report() { process.stdout.write(JSON.stringify({ ...counts, open: sockets.filter((s) => !s.destroyed).length }) + '\\n'); }
open(0);
setInterval(report, 1000);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

interface FloodReport {
  connected: number;
  closed: number;
  open: number;
  errors: Record<string, number>;
}

function startFlood(socketPath: string): { child: ChildProcess; reports: FloodReport[] } {
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
      process.execPath,
      '--input-type=module',
      '-e',
      FLOOD_SCRIPT,
    ],
    {
      env: { ...process.env, FLOOD_SOCKET: socketPath, FLOOD_COUNT: String(FLOOD) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const reports: FloodReport[] = [];
  let buffered = '';
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) reports.push(JSON.parse(line) as FloodReport);
  });
  return { child, reports };
}

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let cloud: Subscriber;
let daemon: Daemon;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  cloud = await Subscriber.connect(broker.port);
  const config = testConfig(work.dir, broker.port, {
    adapters: {
      sim: {
        type: 'sim',
        fleet: { climate: 200, switch: 0, contact: 0, sleepy: 0 },
        reportIntervalMs: 50,
        jitterMs: 10,
      },
    },
  });
  daemon = await Daemon.start(work.dir, config, { fdLimit: DAEMON_FD_LIMIT });
  await waitFor(() => cloud.readings.length > 5000, 'the fleet to deliver');
});

afterAll(async () => {
  await daemon?.stop();
  await cloud?.close();
  await broker?.close();
  await work?.cleanup();
});

it(`stays up and loses no reading when ${FLOOD} control connections are opened at once`, async () => {
  const flood = startFlood(daemon.socket);
  try {
    await waitFor(() => flood.reports.length > 0, 'the flood to open its connections', 120_000);
    const startedAt = Date.now();
    while (Date.now() - startedAt < HOLD_S * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      expect(daemon.process.exitCode, `the daemon died:\n${daemon.output.slice(-3000)}`).toBeNull();
    }
    const report = flood.reports.at(-1)!;
    console.log(`flood: ${JSON.stringify(report)}`);
    // The flood really did ask for more than the daemon has descriptors.
    expect(report.connected + Object.values(report.errors).reduce((a, b) => a + b, 0)).toBe(FLOOD);

    // The CLI gets through again once the idle connections time out (10 s), while the flood still holds its own.
    const deliveredBefore = cloud.readings.length;
    await waitFor(
      // 0 healthy or 1 not healthy: either way the daemon answered (69 is "nothing answered").
      async () => [0, 1].includes((await runCli(['status', '--json', '--socket', daemon.socket])).code ?? -1),
      'a CLI request to get through',
      60_000,
    );
    const status = await daemon.status();
    expect(status.storage.writes).toEqual({ state: 'ok' });
    expect(status.routes[0]!.queue.dropped).toMatchObject({ writeFailed: 0, diskFull: 0 });
    expect(status.control?.refusedConnections).toBeGreaterThan(0);
    expect(status.control?.connections).toBeLessThanOrEqual(status.control!.maxConnections);
    await waitFor(() => cloud.readings.length > deliveredBefore + 1000, 'readings to keep flowing');
    // One warning for the episode, not one per refused connection.
    const warnings = daemon.output.split('\n').filter((l) => l.includes('Too many control connections'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThan(status.control!.refusedConnections);
  } finally {
    flood.child.stdin!.end();
  }
  expect(daemon.process.exitCode).toBeNull();
});
