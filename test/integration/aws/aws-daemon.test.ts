import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../../emulators/aws/index.js';
import { decodeBatch } from '../../../src/upstream/common/batch-payload.js';
import type { TestCloud } from '../../fakes/aws-cloud.js';
import { waitFor } from '../support/daemon.js';
import { AwsWorld } from './aws-fixture.js';

const responses = (cloud: TestCloud, id: string) =>
  cloud.messages
    .filter((m) => /^cmd\/fieldgate\/it\/[^/]+\/res$/.test(m.topic))
    .map((m) => ({
      topic: m.topic,
      ...(JSON.parse(m.payload.toString()) as { id: string; status: string; detail?: string }),
    }))
    .filter((r) => r.id === id);

describe('the daemon against the AWS IoT Core emulator', () => {
  let world: AwsWorld;
  let cloud: TestCloud;
  const readings = () => world.readings();

  beforeAll(async () => {
    world = await AwsWorld.create();
    cloud = world.cloud;
    await world.startDaemon();
    await waitFor(() => readings().some((r) => r.device === 'sim:sleepy-01'), 'the sleepy device to report');
  });
  afterAll(async () => {
    await world.close();
  });

  it('delivers the sim fleet’s readings on the gateway’s one topic, many devices a message, within IoT Core’s limits', async () => {
    await waitFor(() => readings().length >= 100, '100 readings');
    for (const reading of readings()) expect(reading.topic).toBe('dt/fieldgate/it');
    expect(new Set(readings().map((r) => r.device))).toEqual(
      new Set(['sim:climate-01', 'sim:climate-02', 'sim:climate-03', 'sim:switch-01', 'sim:sleepy-01']),
    );
    // The point of the gateway topic: one publish carries the readings of several devices.
    await waitFor(
      () =>
        world.telemetry().some((m) => new Set(decodeBatch(m.payload).readings.map((r) => r.device)).size > 1),
      'a message holding readings of several devices',
    );
    expect(Math.max(...world.telemetry().map((m) => m.payload.length))).toBeLessThanOrEqual(128 * 1024);
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
      () => readings().some((r) => r.device === 'sim:switch-01' && r.values.state === true),
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
  let world: AwsWorld;

  afterEach(async () => {
    await world.close();
  });

  it('keeps readings queued, says why in status and logs, and delivers them once the certificate is active', async () => {
    world = await AwsWorld.create();
    const { cloud, device } = world;
    cloud.emulator.registry.setCertificateStatus(fingerprintOf(device.certPem), 'INACTIVE');
    const daemon = await world.startDaemon();
    const route = async () => (await daemon.status()).routes.find((r) => r.name === 'aws');
    await waitFor(async () => ((await route())?.queue.depth ?? 0) > 20, 'readings to queue up');
    const status = await route();
    expect(status?.forwarder.lastError).toMatch(/certificate is not trusted, registered or active/);
    expect(daemon.output).toMatch(/Upstream unavailable/);
    expect(world.readings()).toEqual([]);

    cloud.emulator.registry.setCertificateStatus(fingerprintOf(device.certPem), 'ACTIVE');
    await waitFor(() => world.readings().some((r) => r.gseq === 1), 'the first queued reading to arrive');
  });
});
