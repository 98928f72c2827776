import { chmod, chown, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, waitFor } from '../integration/support/daemon.js';
import { highest } from './support/highest.js';
import { drainAll, fillQueue, needsRoot, SERVICE_USER, serviceLayout } from './support/storage-scenario.js';

const READINGS = Number(process.env.RELIABILITY_PERMISSION_READINGS ?? 5000);
const DEAD_PORT = 1;

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
const skipped = needsRoot();

beforeAll(async () => {
  if (skipped !== undefined) return console.log(`storage permissions: SKIPPED, ${skipped}`);
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
});

afterAll(async () => {
  await broker?.close();
  await work?.cleanup();
});

/** Every file root's run left behind (umask 077): owned by root, mode 0600. */
async function asIfRootRanOnce(queueDir: string): Promise<string[]> {
  const files = await readdir(queueDir);
  for (const file of files) {
    await chown(path.join(queueDir, file), 0, 0);
    await chmod(path.join(queueDir, file), 0o600);
  }
  return files.sort();
}

it('refuses to start on queue files it may not read (naming path, owner and mode), moves nothing, and delivers everything once they are given back', async (ctx) => {
  if (skipped !== undefined) return ctx.skip();
  const { stateDir, queueDir, config } = await serviceLayout(work.dir);
  const committed = await fillQueue(work.dir, config(DEAD_PORT, true), READINGS, SERVICE_USER);
  const files = await asIfRootRanOnce(queueDir);

  // The service user's next start (what systemd would run).
  const file = path.join(work.dir, 'fieldgate.yaml');
  const socket = config(DEAD_PORT, false).control.socket;
  const asService = await startOrRefusal(file, socket, SERVICE_USER);
  const message = /fieldgate: .*/.exec(asService.stderr)?.[0] ?? asService.stderr.slice(-500);
  console.log(`storage permissions: exit ${asService.code}; "${message}"`);
  expect(asService.code).toBe(78);
  expect(message).toMatch(/queue file .*\/queue\/\S+ is owned by root \(uid 0\) with mode 0600/);
  expect(message).toMatch(/fieldgate runs as .*\(uid 65534\)|fieldgate runs as uid 65534/);
  expect(message).toMatch(/chown -R \S+ .*\/state/);
  // Nothing moved, repaired or quarantined.
  expect(await readdir(stateDir)).not.toContainEqual(expect.stringMatching(/corrupt|repair/));
  expect((await readdir(queueDir)).sort()).toEqual(files);

  // Root itself is refused on the service user's state dir: it would leave root-owned files behind.
  const asRoot = await startOrRefusal(file, socket);
  expect(asRoot.code).toBe(78);
  expect(asRoot.stderr).toMatch(/state directory .* is owned by .*\(uid 65534\).*fieldgate runs as root/);

  // The operator runs the fix from the message.
  for (const file of files) await chown(path.join(queueDir, file), SERVICE_USER.uid, SERVICE_USER.gid);
  const { gseqs, atStart } = await drainAll(work.dir, config(broker.port, false), broker.port, SERVICE_USER);
  console.log(
    `storage permissions: ${committed}+ committed before, ${gseqs.size} delivered after the fix (highest gseq ${highest(gseqs)})`,
  );
  expect(atStart.healthy).toBe(true);
  expect(gseqs.size).toBeGreaterThanOrEqual(committed);
  expect(await readdir(queueDir)).not.toContain('lost');
});

/**
 * Starts the daemon (as `user`) and returns how it exited; a daemon that starts instead (the old
 * behaviour: "repair" into an empty queue) is stopped and reported as started, so the test fails at once.
 */
async function startOrRefusal(file: string, socket: string, user?: { uid: number; gid: number }) {
  const daemon = new Daemon(file, socket, user === undefined ? {} : { user });
  await waitFor(
    () => daemon.process.exitCode !== null || daemon.output.includes('fieldgate started.'),
    'the daemon to refuse or start',
    60_000,
  );
  if (daemon.process.exitCode === null) {
    await daemon.stop();
    return { code: 'started' as const, stderr: daemon.output };
  }
  return { code: daemon.process.exitCode, stderr: daemon.output };
}
