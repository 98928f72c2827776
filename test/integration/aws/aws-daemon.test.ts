import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, type KeyPair } from '../../../src/emulator/aws/certs.js';
import { decodeBatch, type WireReading } from '../../../src/upstream/mqtt/encode.js';
import { startTestCloud, type TestCloud } from '../../fakes/aws-cloud.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';

type Work = Awaited<ReturnType<typeof makeWorkdir>>;

/** The daemon config of `testConfig`, with its one route going to the emulator as thing `it`. */
async function awsConfig(work: Work, cloud: TestCloud, device: KeyPair) {
  const file = (name: string) => path.join(work.dir, name);
  await writeFile(file('it.crt'), device.certPem);
  await writeFile(file('it.key'), device.keyPem, { mode: 0o600 });
  await writeFile(file('ca.crt'), cloud.emulator.ca.certPem);
  return testConfig(work.dir, 0, {
    routes: {
      aws: {
        upstream: {
          type: 'aws',
          endpoint: '127.0.0.1',
          port: cloud.emulator.mqttPort,
          servername: 'localhost',
          tls: { certFile: file('it.crt'), keyFile: file('it.key'), caFile: file('ca.crt') },
          ackTimeoutMs: 2000,
        },
        batch: { maxItems: 200 },
        backoff: { initialMs: 100, maxMs: 500 },
      },
    },
  });
}

const telemetry = (cloud: TestCloud) => cloud.messages.filter((m) => m.topic.startsWith('dt/fieldgate/it/'));
const readings = (cloud: TestCloud): (WireReading & { topic: string })[] =>
  telemetry(cloud).flatMap((m) => decodeBatch(m.payload).readings.map((r) => ({ ...r, topic: m.topic })));
const responses = (cloud: TestCloud, id: string) =>
  cloud.messages
    .filter((m) => /^cmd\/fieldgate\/it\/[^/]+\/res$/.test(m.topic))
    .map((m) => ({
      topic: m.topic,
      ...(JSON.parse(m.payload.toString()) as { id: string; status: string; detail?: string }),
    }))
    .filter((r) => r.id === id);

describe('the daemon against the AWS IoT Core emulator', () => {
  let work: Work;
  let cloud: TestCloud;
  let daemon: Daemon;

  beforeAll(async () => {
    work = await makeWorkdir();
    cloud = await startTestCloud();
    const device = await cloud.emulator.mintDevice('it');
    daemon = await Daemon.start(work.dir, await awsConfig(work, cloud, device));
    await waitFor(
      () => readings(cloud).some((r) => r.device === 'sim:sleepy-01'),
      'the sleepy device to report',
    );
  });
  afterAll(async () => {
    await daemon.stop();
    await cloud.close();
    await work.cleanup();
  });

  it('delivers the sim fleet’s readings on per-device topics, within IoT Core’s limits', async () => {
    await waitFor(() => readings(cloud).length >= 100, '100 readings');
    for (const reading of readings(cloud)) expect(reading.topic).toBe(`dt/fieldgate/it/${reading.device}`);
    expect(new Set(readings(cloud).map((r) => r.device))).toEqual(
      new Set(['sim:climate-01', 'sim:climate-02', 'sim:climate-03', 'sim:switch-01', 'sim:sleepy-01']),
    );
    expect(Math.max(...telemetry(cloud).map((m) => m.payload.length))).toBeLessThanOrEqual(128 * 1024);
    expect(cloud.emulator.broker.peakPublishRate('it')).toBeLessThanOrEqual(100);
    expect(cloud.emulator.broker.refusals()).toEqual([]);
  });

  it('runs a command with a TTL once and answers on the device’s response topic', async () => {
    await cloud.publish(
      'cmd/fieldgate/it/sim:switch-01/req',
      JSON.stringify({ id: 'c-on', name: 'on', ttlMs: 30_000 }),
    );
    await waitFor(() => responses(cloud, 'c-on').length > 0, 'the response to c-on');
    expect(responses(cloud, 'c-on')).toMatchObject([
      { status: 'ok', topic: 'cmd/fieldgate/it/sim:switch-01/res' },
    ]);
    await waitFor(
      () => readings(cloud).some((r) => r.device === 'sim:switch-01' && r.values.state === true),
      'the switch to report on',
    );
  });

  it('never runs an expired command, and rejects malformed and oversized requests without dropping the connection', async () => {
    await cloud.publish(
      'cmd/fieldgate/it/sim:switch-01/req',
      JSON.stringify({ id: 'c-late', name: 'off', expiresAt: Date.now() - 1000 }),
    );
    await cloud.publish('cmd/fieldgate/it/sim:switch-01/req', '{"id": "c-bad", ');
    await cloud.publish(
      'cmd/fieldgate/it/sim:switch-01/req',
      JSON.stringify({ id: 'c-big', name: 'on', args: { pad: 'x'.repeat(64 * 1024) } }),
    );
    await cloud.publish(
      'cmd/fieldgate/it/sim:switch-01/req',
      JSON.stringify({ id: 'c-after', name: 'toggle' }),
    );
    await waitFor(
      () => ['c-late', 'c-after'].every((id) => responses(cloud, id).length > 0),
      'responses to c-late and c-after',
    );
    await waitFor(
      () =>
        cloud.messages.filter((m) => m.topic.endsWith('/res') && m.payload.toString().includes('"rejected"'))
          .length >= 2,
      'two rejections',
    );
    expect(responses(cloud, 'c-late')).toMatchObject([{ status: 'expired' }]);
    expect(responses(cloud, 'c-after')).toMatchObject([{ status: 'ok' }]);
  });
});

describe('the daemon with a certificate IoT Core does not accept', () => {
  let work: Work;
  let cloud: TestCloud;
  let daemon: Daemon | undefined;

  afterEach(async () => {
    await daemon?.stop();
    await cloud.close();
    await work.cleanup();
  });

  it('keeps readings queued, says why in status and logs, and delivers them once the certificate is active', async () => {
    work = await makeWorkdir();
    cloud = await startTestCloud();
    const device = await cloud.emulator.mintDevice('it');
    cloud.emulator.registry.setCertificateStatus(fingerprintOf(device.certPem), 'INACTIVE');
    daemon = await Daemon.start(work.dir, await awsConfig(work, cloud, device));
    const route = async () => (await daemon!.status()).routes.find((r) => r.name === 'aws');
    await waitFor(async () => ((await route())?.queue.depth ?? 0) > 20, 'readings to queue up');
    const status = await route();
    expect(status?.forwarder.lastError).toMatch(/certificate is not trusted, registered or active/);
    expect(daemon.output).toMatch(/Upstream unavailable/);
    expect(readings(cloud)).toEqual([]);

    cloud.emulator.registry.setCertificateStatus(fingerprintOf(device.certPem), 'ACTIVE');
    await waitFor(() => readings(cloud).some((r) => r.gseq === 1), 'the first queued reading to arrive');
  });
});
