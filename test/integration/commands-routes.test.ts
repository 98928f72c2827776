import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startMqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from './support/daemon.js';

interface Result {
  id: string;
  status: string;
  detail?: string;
}

/** Two routes, each a cloud of its own on one broker: its own client id and command/result topics. */
function routeTo(port: number, name: string) {
  return {
    upstream: {
      type: 'mqtt',
      url: `mqtt://127.0.0.1:${port}`,
      clientId: `fieldgate-it-${name}`,
      ackTimeoutMs: 2000,
      topics: {
        telemetry: `${name}/{gateway}/telemetry`,
        commands: `${name}/{gateway}/commands`,
        results: `${name}/{gateway}/results`,
      },
    },
    // Only the switch's readings: the test is about commands, and the two clouds share nothing else.
    match: { devices: ['sim:switch-*'] },
  };
}

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: Awaited<ReturnType<typeof startMqttBroker>>;
let daemon: Daemon;
let cloud: MqttClient;
const results: Record<'alpha' | 'beta', Result[]> = { alpha: [], beta: [] };

beforeEach(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  cloud = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: `cloud-${Math.random()}` });
  results.alpha = [];
  results.beta = [];
  cloud.on('message', (topic, payload) => {
    const route = topic.split('/')[0] as 'alpha' | 'beta';
    results[route].push(JSON.parse(payload.toString()) as Result);
  });
  await cloud.subscribeAsync(['alpha/it/results', 'beta/it/results'], { qos: 1 });
  const config = testConfig(work.dir, broker.port, {
    routes: { alpha: routeTo(broker.port, 'alpha'), beta: routeTo(broker.port, 'beta') },
  });
  daemon = await Daemon.start(work.dir, config);
  await waitFor(
    async () => (await daemon.status()).routes.every((r) => r.forwarder.sentMessages > 0),
    'both routes to deliver',
  );
});

afterEach(async () => {
  await cloud.endAsync(true);
  await daemon.stop();
  await broker.close();
  await work.cleanup();
});

const publish = (route: string, body: Record<string, unknown>) =>
  cloud.publishAsync(`${route}/it/commands`, JSON.stringify(body), { qos: 1 });

it('runs the same command id on two routes as two commands, each answered on its own route', async () => {
  const command = { id: 'shared-1', device: 'sim:switch-01', name: 'toggle' };
  await publish('alpha', command);
  await publish('beta', command);
  // A true redelivery on one route is still one command: it runs once and is answered once.
  await publish('alpha', command);

  await waitFor(
    () => results.alpha.some((r) => r.id === 'shared-1') && results.beta.some((r) => r.id === 'shared-1'),
    'a result on each route',
  );
  const status = await daemon.status();
  await waitFor(async () => (await daemon.status()).commands?.pending === 0, 'nothing pending');
  // Time for a wrong second result to show up; the count is what matters, not the wait.
  await new Promise((r) => setTimeout(r, 500));
  expect(results.alpha.filter((r) => r.id === 'shared-1')).toMatchObject([{ status: 'ok' }]);
  expect(results.beta.filter((r) => r.id === 'shared-1')).toMatchObject([{ status: 'ok' }]);
  // Both executed: two `ok` results counted by the daemon, not one result echoed twice.
  expect((await daemon.status()).commands?.byStatus.ok).toBe(2);
  expect(status.commands?.received).toBe(3);
});
