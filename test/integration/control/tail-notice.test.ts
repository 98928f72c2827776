import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';

const MAIN = path.resolve('dist/src/main.js');

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let daemon: Daemon;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  daemon = await Daemon.start(
    work.dir,
    testConfig(work.dir, broker.port, {
      adapters: {
        sim: {
          type: 'sim',
          fleet: { climate: 100, switch: 0, contact: 0, sleepy: 0 },
          reportIntervalMs: 50,
          jitterMs: 10,
        },
      },
    }),
  );
});

afterAll(async () => {
  await daemon?.stop();
  await broker?.close();
  await work?.cleanup();
});

it('fieldgate tail says on stderr how many readings it missed while its output was not read', async () => {
  const tail = spawn(process.execPath, [MAIN, 'tail', '--json', '--socket', daemon.socket]);
  let stdout = '';
  let stderr = '';
  tail.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    await waitFor(
      async () => ((await daemon.status()).control?.tail.clients ?? 0) === 1,
      'tail to subscribe',
    );
    // Like `fieldgate tail | less` with less scrolled back: nothing reads the pipe, the CLI blocks on it.
    tail.stdout.pause();
    await waitFor(
      async () => ((await daemon.status()).control?.tail.droppedReadings ?? 0) > 0,
      'the daemon to drop readings for the stalled tail',
    );
    tail.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    tail.stdout.resume();
    await waitFor(() => /readings were not shown/.test(stderr), `the notice on stderr (stderr: ${stderr})`);
    const missed = Number(/fieldgate tail: (\d+) readings were not shown/.exec(stderr)?.[1]);
    expect(missed).toBeGreaterThan(0);
    // stdout stays machine-readable: every line a reading, the notice never among them.
    await waitFor(() => stdout.split('\n').length > 100, 'readings after the notice');
    const lines = stdout.split('\n').slice(0, -1);
    expect(lines.every((l) => (JSON.parse(l) as { device?: unknown }).device !== undefined)).toBe(true);
  } finally {
    tail.kill('SIGINT');
  }
});
