import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';

/** Clients that send `GET /v1/tail` and never read; `RELIABILITY_TAIL_CLIENTS` changes it. */
const PAUSED_CLIENTS = Number(process.env.RELIABILITY_TAIL_CLIENTS ?? 5);
/** How long they stay paused: past the daemon's 30 s stall limit. `RELIABILITY_TAIL_PAUSE_S` changes it. */
const PAUSE_S = Number(process.env.RELIABILITY_TAIL_PAUSE_S ?? 40);
/** One more client pauses this long, then reads again: it must be told what it missed. */
const RESUME_AFTER_S = 8;
/**
 * Growth of the daemon's RSS allowed while the clients are paused. Each costs at most its 1 MiB bound plus
 * the kernel's socket buffer, and the heap has some slack (measured: +21 to +33 MiB at the peak, then back
 * down); without a bound the daemon grew ~4.5 MiB/s at this fleet's rate (~2,000 readings/s), +275 MiB in 60 s.
 */
const MAX_RSS_GROWTH_BYTES = 64 * 1024 * 1024;

/** A raw tail client on the control socket: it reads only when told to. */
class TailClient {
  readonly socket: net.Socket;
  text = '';
  isClosed = false;

  constructor(socketPath: string) {
    this.socket = net.connect(socketPath);
    this.socket.on('data', (c: Buffer) => (this.text += c.toString('utf8')));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.isClosed = true));
    this.socket.write('GET /v1/tail HTTP/1.1\r\nhost: fieldgate\r\n\r\n');
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  droppedNotices(): number[] {
    return [...this.text.matchAll(/\{"event":"dropped","count":(\d+)\}/g)].map((m) => Number(m[1]));
  }
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
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
  daemon = await Daemon.start(work.dir, config);
  // Past start-up, so the heap has grown to its working size before the baseline is taken.
  await waitFor(() => cloud.readings.length > 20_000, 'the fleet to deliver');
});

afterAll(async () => {
  await daemon?.stop();
  await cloud?.close();
  await broker?.close();
  await work?.cleanup();
});

it(`keeps the daemon's memory flat under ${PAUSED_CLIENTS} paused tail clients, and says what they missed`, async () => {
  const pid = daemon.process.pid!;
  const before = await rssBytes(pid);
  const paused = Array.from({ length: PAUSED_CLIENTS }, () => new TailClient(daemon.socket));
  for (const client of paused) client.pause();
  const resumer = new TailClient(daemon.socket);
  resumer.pause();

  const samples: number[] = [];
  const startedAt = Date.now();
  while (Date.now() - startedAt < PAUSE_S * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    expect(daemon.process.exitCode, `the daemon died:\n${daemon.output.slice(-2000)}`).toBeNull();
    samples.push(await rssBytes(pid));
    if (Date.now() - startedAt >= RESUME_AFTER_S * 1000) resumer.resume();
  }
  const growth = Math.max(...samples) - before;
  console.log(
    `daemon RSS with ${PAUSED_CLIENTS} paused tail clients (MiB, 1/s): before ${(before / 2 ** 20).toFixed(1)}, ` +
      samples.map((b) => (b / 2 ** 20).toFixed(1)).join(' '),
  );
  expect(growth, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(MAX_RSS_GROWTH_BYTES);

  // The client that caught up was told, in-band, how many readings it missed, and its stream goes on.
  await waitFor(() => resumer.droppedNotices().length > 0, 'a dropped notice for the resumed client');
  expect(resumer.droppedNotices()[0]).toBeGreaterThan(0);
  expect(resumer.isClosed).toBe(false);

  // The ones that never read were cut off; reading now, they find the stream closed.
  await waitFor(
    async () => ((await daemon.status()).control?.tail.cutClients ?? 0) >= PAUSED_CLIENTS,
    'the paused clients to be cut',
    60_000,
  );
  for (const client of paused) client.resume();
  await waitFor(() => paused.every((c) => c.isClosed), 'the cut clients to see their stream closed');

  const status = await daemon.status();
  expect(status.control?.tail).toMatchObject({ clients: 1, cutClients: PAUSED_CLIENTS });
  expect(status.control?.tail.droppedReadings).toBeGreaterThan(0);
  // Slow tail clients cost tail readings only: nothing was dropped on the way to the cloud.
  expect(Object.values(status.routes[0]!.queue.dropped).every((n) => n === 0)).toBe(true);
  resumer.socket.destroy();
});
