import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';
import { Subscriber } from '../support/subscriber.js';

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let cloud: Subscriber;
let daemon: Daemon;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  cloud = await Subscriber.connect(broker.port);
  const config = testConfig(work.dir, broker.port);
  // The sleepy device stays asleep for the whole test (~23 days between wake-ups).
  Object.assign(config.adapters.sim, { wakeIntervalMs: 2_000_000_000 });
  daemon = await Daemon.start(work.dir, config);
  await waitFor(async () => (await daemon.status()).routes[0]!.forwarder.sentMessages > 0, 'the route up');
});

afterAll(async () => {
  await daemon.stop();
  await cloud.close();
  await broker.close();
  await work.cleanup();
});

const cli = (...args: string[]) => runCli(['commands', ...args, '--socket', daemon.socket]);

it('commands list shows held commands; purge asks for a selection and --yes, then answers each on its route', async () => {
  for (const id of ['held-1', 'held-2']) {
    await cloud.publishCommand('it', { id, device: 'sim:sleepy-01', name: 'identify', ttlMs: 600_000 });
  }
  await waitFor(async () => (await daemon.status()).commands?.pending === 2, 'two held commands');

  const table = await cli('list');
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^DEVICE\s+ID\s+NAME\s+ROUTE\s+AGE\s+EXPIRES\s+STATE\n/);
  expect(table.stdout).toMatch(/sim:sleepy-01\s+held-1\s+identify\s+local\s+\S+\s+in \S+\s+held/);
  const json = JSON.parse((await cli('list', '--device', 'sim:sleepy-*', '--json')).stdout) as unknown[];
  expect(json).toHaveLength(2);
  expect(JSON.parse((await cli('list', '--device', 'sim:switch-*', '--json')).stdout)).toEqual([]);
  expect((await cli('list', '--route', 'nowhere')).code).toBe(1);

  const unselected = await cli('purge');
  expect(unselected.code).toBe(2);
  expect(unselected.stderr).toMatch(/say what to purge/);
  const unconfirmed = await cli('purge', '--id', 'held-1');
  expect(unconfirmed.code).toBe(2);
  expect(unconfirmed.stderr).toMatch(/add --yes to purge 1 held command/);
  expect((await daemon.status()).commands?.pending).toBe(2);

  const purged = await cli('purge', '--id', 'held-1', '--yes');
  expect(purged.code).toBe(0);
  expect(purged.stdout).toMatch(/^purged 1 held commands/);
  await waitFor(() => cloud.results.some((r) => r.id === 'held-1'), 'the purged command’s result');
  expect(cloud.results.filter((r) => r.id === 'held-1')).toMatchObject([
    { status: 'rejected', detail: 'purged by operator' },
  ]);
  expect(JSON.parse((await cli('list', '--json')).stdout)).toMatchObject([{ id: 'held-2' }]);
});
