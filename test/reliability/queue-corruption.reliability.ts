import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, testConfig } from '../integration/support/daemon.js';
import { highest } from './support/highest.js';
import { drainAll, fillQueue } from './support/storage-scenario.js';

const READINGS = Number(process.env.RELIABILITY_CORRUPTION_READINGS ?? 20_000);
const DEAD_PORT = 1;

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
});

afterAll(async () => {
  await broker.close();
  await work.cleanup();
});

function config(port: number, isFleetRunning: boolean) {
  const adapters = Object.fromEntries(
    Array.from({ length: 2 }, (_, i) => [
      `sim${i}`,
      {
        type: 'sim',
        enabled: isFleetRunning,
        fleet: { climate: 50, switch: 0, contact: 0, sleepy: 0 },
        reportIntervalMs: 0,
        batchSize: 100,
      },
    ]),
  );
  return testConfig(work.dir, port, { adapters, queue: { commitIntervalMs: 100 } });
}

it('repairs a really corrupted table on a copy, keeps the original, and counts and shows what was lost', async () => {
  const stateDir = path.join(work.dir, 'state');
  const queueDir = path.join(stateDir, 'queue');
  const committed = await fillQueue(work.dir, config(DEAD_PORT, true), READINGS);
  // One more life turns the write-ahead log into table files.
  await (await Daemon.start(work.dir, config(DEAD_PORT, false))).stop();
  const tables = await Promise.all(
    (await readdir(queueDir))
      .filter((f) => f.endsWith('.ldb'))
      .map(async (f) => ({ file: f, bytes: (await stat(path.join(queueDir, f))).size })),
  );
  const largest = tables.sort((a, b) => b.bytes - a.bytes)[0]!;
  // Garbage over a stretch in the middle of the largest table: what a bad SD-card sector returns.
  const handle = await open(path.join(queueDir, largest.file), 'r+');
  await handle.write(Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(largest.bytes / 2));
  await handle.close();

  const { gseqs, atStart, output } = await drainAll(work.dir, config(broker.port, false), broker.port);
  const repair = atStart.storage.repair;
  const lost = highest(gseqs) - gseqs.size;
  console.log(
    `queue corruption: ${committed}+ committed, garbage in ${largest.file} (${largest.bytes} bytes); ` +
      `${gseqs.size} delivered after repair, ${lost} gseqs missing; status repair=${JSON.stringify(repair)}; ` +
      `problems=${JSON.stringify(atStart.problems)}`,
  );
  expect(repair).not.toBeNull();
  expect(repair!.damagedTables.map((t) => t.file)).toContain(largest.file);
  expect(atStart.healthy).toBe(false);
  expect(atStart.problems.join('\n')).toMatch(
    /repaired after corruption .*1 damaged table files .* rewritten or dropped .*kept at .*queue\.before-repair-/,
  );
  expect(output).toMatch(/"level":50.*Queue database repaired, with losses/);
  // The original is kept as it was found, damaged table included.
  const kept = await readdir(repair!.keptPath);
  expect(kept).toContain(largest.file);
  expect((await stat(path.join(repair!.keptPath, largest.file))).size).toBe(largest.bytes);
  expect(kept).not.toContain('lost');
  // What survived arrives; what did not is within the damaged table.
  expect(gseqs.size).toBeGreaterThan(0);
  expect(gseqs.size + lost).toBeGreaterThanOrEqual(committed);
});
