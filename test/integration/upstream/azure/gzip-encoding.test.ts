import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../../src/config/upstreams/azure.js';
import { d2cContent } from '../../../../emulators/azure/index.js';
import type { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { AzureAmqpUpstream } from '../../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { AzureHttpsUpstream } from '../../../../src/upstream/azure/https/azure-https-upstream.js';
import { AzureMqttUpstream } from '../../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import type { Upstream } from '../../../../src/upstream/upstream.js';
import { makeTestCertificates, type TestCertificates } from '../../azure/certificates.js';
import { startHubWith } from './gateway-fixtures.js';

const HOST = 'gzip-hub.azure-devices.net';
const DEVICE = 'gw-gzip';
const DEVICE_KEY = Buffer.from('device-key-for-tests-only-000003').toString('base64');
const PROTOCOLS = ['mqtt', 'amqp', 'https'] as const;
type Protocol = (typeof PROTOCOLS)[number];
type Encoding = 'json' | 'json+gzip';

/** Readings shaped like the sim fleet's (~190 bytes of JSON each), varied so gzip has real work. */
const envelope = (gseq: number): Envelope => ({
  gseq,
  reading: {
    device: `sim:thermo-${String(gseq % 50).padStart(3, '0')}`,
    ts: 1_700_000_000_000 + gseq * 37,
    seq: Math.floor(gseq / 50),
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

let certs: TestCertificates;
let hub: AzureHubEmulator;
let upstream: Upstream | undefined;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
  await hub.close();
});

async function startHub(): Promise<AzureHubEmulator> {
  const registry = new HubRegistry({ hostName: HOST, devices: { [DEVICE]: { primaryKey: DEVICE_KEY } } });
  return startHubWith(registry, certs);
}

function upstreamFor(protocol: Protocol, encoding: Encoding): Upstream {
  const endpoint = { mqtt: hub.url, amqp: hub.amqpUrl, https: hub.httpsUrl }[protocol];
  const config = azureUpstreamSchema.parse({
    type: 'azure',
    protocol,
    encoding,
    hostName: HOST,
    deviceId: DEVICE,
    sharedAccessKey: DEVICE_KEY,
    endpoint,
    tls: { caFile: certs.server.certFile },
    twin: { enabled: false },
    maxMessagesPerSecond: 10_000,
    ackTimeoutMs: 5000,
  });
  const options = { config, gatewayId: DEVICE, route: 'cloud', log: silentLogger() };
  if (protocol === 'amqp') return new AzureAmqpUpstream(options);
  if (protocol === 'https') return new AzureHttpsUpstream(options);
  return new AzureMqttUpstream(options);
}

/** Send `count` readings in route-sized leases, as the forwarder would; every lease must be acknowledged. */
async function deliver(count: number): Promise<void> {
  const signal = new AbortController().signal;
  for (let first = 0; first < count; first += LEASE) {
    const lease = Array.from({ length: Math.min(LEASE, count - first) }, (_, i) => envelope(first + i));
    expect(await upstream!.send(lease, signal)).toEqual({ kind: 'ok' });
  }
}

const telemetry = () => hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'telemetry');

describe.each(PROTOCOLS)('Azure %s upstream with encoding json+gzip', (protocol) => {
  it('delivers gzipped bodies marked gzip that inflate to exactly the readings sent', async () => {
    hub = await startHub();
    upstream = upstreamFor(protocol, 'json+gzip');
    await upstream.connect(new AbortController().signal);
    await deliver(2 * LEASE);

    const records = telemetry();
    expect(records.length).toBeGreaterThan(0);
    const readings = [];
    for (const record of records) {
      expect(record.properties['$.ce']).toBe('gzip');
      expect(record.properties['$.ct']).toBe('application/json');
      // The body on the wire is gzip, not JSON a routing query could read.
      expect([record.body[0], record.body[1]]).toEqual([0x1f, 0x8b]);
      const payload = JSON.parse(d2cContent(record).toString('utf8')) as {
        gateway: string;
        readings: unknown[];
      };
      expect(payload.gateway).toBe(DEVICE);
      expect(record.properties['fieldgate-count']).toBe(String(payload.readings.length));
      readings.push(...payload.readings);
    }
    const sent = Array.from({ length: 2 * LEASE }, (_, i) => envelope(i));
    expect(readings).toEqual(sent.map(({ gseq, reading }) => ({ gseq, ...reading })));
  });

  it('bills 10,000 readings far fewer 4 KB units than plain JSON, within 2 % of one message each', async () => {
    const units: Record<Encoding, number> = { json: 0, 'json+gzip': 0 };
    for (const encoding of ['json', 'json+gzip'] as const) {
      hub = await startHub();
      upstream = upstreamFor(protocol, encoding);
      await upstream.connect(new AbortController().signal);
      await deliver(10_000);
      units[encoding] = hub.counters().billedUnits;
      await upstream.close();
      upstream = undefined;
      await hub.close();
    }
    hub = await startHub(); // afterEach closes one
    expect(units['json+gzip']).toBeLessThan(units.json / 3);
    expect(units['json+gzip']).toBeLessThanOrEqual(200);
  });
});
