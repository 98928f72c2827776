import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AwsUpstreamConfig } from '../../../../src/config/upstreams/aws.js';
import type { KeyPair } from '../../../../emulators/aws/index.js';
import { silentLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { AwsUpstream } from '../../../../src/upstream/aws/aws-upstream.js';
import { awsConfigFor, memoryFiles, startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

const TRANSPORTS = ['mqtt', 'https'] as const;
type Encoding = AwsUpstreamConfig['encoding'];

/** Readings shaped like the sim fleet's (~190 bytes of JSON each), one device so one topic. */
const envelope = (gseq: number): Envelope => ({
  gseq,
  reading: {
    device: 'sim:thermo-01',
    ts: 1_700_000_000_000 + gseq * 37,
    seq: gseq,
    values: {
      temperature: Math.round((20 + Math.sin(gseq) * 5) * 100) / 100,
      humidity: Math.round((45 + Math.cos(gseq / 7) * 10) * 10) / 10,
      battery: 100 - (gseq % 30),
      door: gseq % 3 === 0,
    },
    units: { temperature: '°C', humidity: '%', battery: '%' },
  },
});
/** What the route's default lease (64 KB before gzip) holds of these readings. */
const LEASE = 300;

describe.each(TRANSPORTS)('AWS upstream over %s with encoding json+gzip', (transport) => {
  let cloud: TestCloud;
  let upstream: AwsUpstream | undefined;

  beforeEach(async () => {
    cloud = await startTestCloud();
  });
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
    await cloud.close();
  });

  /** A gateway thing of its own per connection: IoT Core takes one CONNECT per second per client id. */
  async function connect(encoding: Encoding, thing = 'gw-1'): Promise<AwsUpstream> {
    const device: KeyPair = await cloud.emulator.mintDevice(thing);
    upstream = new AwsUpstream({
      config: awsConfigFor(cloud, {
        transport,
        encoding,
        topics: {
          telemetry: 'dt/fieldgate/{gateway}/{device}/{encoding}',
          commandRequest: 'cmd/fieldgate/{gateway}/{device}/req',
          commandResponse: 'cmd/fieldgate/{gateway}/{device}/res',
        },
        shadows: { ...awsConfigFor(cloud).shadows, mode: 'off' },
      }),
      gatewayId: thing,
      route: 'aws',
      log: silentLogger(),
      readFile: memoryFiles(device, cloud.emulator.ca),
    });
    await upstream.connect(new AbortController().signal);
    return upstream;
  }

  async function deliver(count: number): Promise<void> {
    const signal = new AbortController().signal;
    for (let first = 0; first < count; first += LEASE) {
      const lease = Array.from({ length: Math.min(LEASE, count - first) }, (_, i) => envelope(first + i));
      expect(await upstream!.send(lease, signal)).toEqual({ kind: 'ok' });
    }
  }

  it('publishes gzip on the `gzip` topic, and it inflates to exactly the readings sent', async () => {
    await connect('json+gzip');
    await deliver(2 * LEASE);
    const telemetry = () => cloud.messages.filter((m) => m.topic.startsWith('dt/'));
    const readings = () =>
      telemetry().flatMap(
        ({ payload }) =>
          (JSON.parse(gunzipSync(payload).toString('utf8')) as { readings: unknown[] }).readings,
      );
    // The PUBACKs came from the broker; the cloud's own subscriber may still be receiving.
    await waitFor(() => readings().length >= 2 * LEASE, 'the cloud to receive every reading');
    for (const { topic } of telemetry()) expect(topic).toBe('dt/fieldgate/gw-1/sim:thermo-01/gzip');
    const sent = Array.from({ length: 2 * LEASE }, (_, i) => envelope(i));
    expect(readings()).toEqual(sent.map(({ gseq, reading }) => ({ gseq, ...reading })));
  });

  it('meters 10,000 readings far fewer 5 KB units than plain JSON, within 2 % of one message each', async () => {
    const units: Partial<Record<Encoding, number>> = {};
    for (const encoding of ['json', 'json+gzip'] as const) {
      const before = cloud.emulator.meter.read().messagingUnits;
      await connect(encoding, `gw-${encoding === 'json' ? 'json' : 'gzip'}`);
      await deliver(10_000);
      units[encoding] = cloud.emulator.meter.read().messagingUnits - before;
      await upstream!.close();
      upstream = undefined;
    }
    expect(units['json+gzip']).toBeLessThan(units.json! / 3);
    expect(units['json+gzip']).toBeLessThanOrEqual(200);
  });
});
