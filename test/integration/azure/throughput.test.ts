import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../src/config/upstreams/azure.js';
import { AzureHubEmulator } from '../../../emulators/azure/index.js';
import { HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import type { Envelope } from '../../../src/model.js';
import { AzureAmqpUpstream } from '../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { AzureHttpsUpstream } from '../../../src/upstream/azure/https/azure-https-upstream.js';
import { AzureMqttUpstream } from '../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import { encodeD2cBatch } from '../../../src/upstream/azure/encode.js';
import type { Upstream } from '../../../src/upstream/upstream.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

const HOST = 'bench-hub.azure-devices.net';
const KEY = Buffer.from('throughput-test-key-000000000001').toString('base64');
const READINGS = 10_000;
/** The forwarder's default lease (`batch.maxItems`). */
const LEASE = 500;

/** A sim-like climate reading: what a field gateway typically forwards. */
const envelope = (gseq: number): Envelope => ({
  gseq,
  reading: {
    device: `sim:climate-${String(gseq % 20).padStart(2, '0')}`,
    ts: 1_700_000_000_000 + gseq * 100,
    seq: gseq,
    values: { temperature: 21.5 + (gseq % 7) / 10, humidity: 40 + (gseq % 11) },
  },
});

/**
 * 10,000 readings through each protocol to the emulator over TLS on loopback, in the forwarder's default
 * leases: every reading arrives once, and the hub bills a small fraction of what one message per reading
 * would cost. The readings/s figures it prints are for information (docs/benchmarks.md), not asserted.
 */
describe('Azure billing and throughput per protocol (10,000 readings)', () => {
  let certs: TestCertificates;
  let hub: AzureHubEmulator;
  const figures: string[] = [];

  beforeAll(async () => {
    certs = await makeTestCertificates();
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { bench: { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      httpsPort: 0,
      tls: certs.server,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    console.log(figures.join('\n'));
    await hub.close();
    await certs.cleanup();
  });

  it.each(['mqtt', 'amqp', 'https'] as const)(
    '%s delivers every reading in few billed units',
    async (protocol) => {
      const config = azureUpstreamSchema.parse({
        type: 'azure',
        protocol,
        hostName: HOST,
        deviceId: 'bench',
        sharedAccessKey: KEY,
        endpoint: { mqtt: hub.url, amqp: hub.amqpUrl, https: hub.httpsUrl }[protocol],
        tls: { caFile: certs.server.certFile },
        // Pace only by the hub: the default 100 msg/s matches an S1 hub, not loopback.
        maxMessagesPerSecond: 10_000,
      });
      const options = { config, gatewayId: 'bench', route: protocol, log: silentLogger() };
      const upstream: Upstream & { stats(): { billedUnits: number; readings: number } } =
        protocol === 'mqtt'
          ? new AzureMqttUpstream(options)
          : protocol === 'amqp'
            ? new AzureAmqpUpstream(options)
            : new AzureHttpsUpstream(options);
      const signal = new AbortController().signal;
      await upstream.connect(signal);
      const startedAt = performance.now();
      for (let first = 1; first <= READINGS; first += LEASE) {
        const lease = Array.from({ length: LEASE }, (_, i) => envelope(first + i));
        expect(await upstream.send(lease, signal)).toEqual({ kind: 'ok' });
      }
      const elapsedS = (performance.now() - startedAt) / 1000;
      await upstream.close();

      const received = hub.d2c
        .filter((m) => m.properties['$.mid']?.startsWith(`bench-${protocol}-`) === true)
        .flatMap((m) => (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings);
      expect(received.map((r) => r.gseq)).toEqual(Array.from({ length: READINGS }, (_, i) => i + 1));
      // One message per reading: every message is under 4 KB, so each is billed one unit.
      const perReadingUnits = Array.from({ length: READINGS }, (_, i) =>
        encodeD2cBatch([envelope(i + 1)], {
          gatewayId: 'bench',
          route: protocol,
          maxMessageBytes: 256 * 1024,
          now: 0,
        }),
      ).reduce((sum, batch) => sum + batch.messages[0]!.billedUnits, 0);
      const { billedUnits } = upstream.stats();
      expect(billedUnits * 10).toBeLessThan(perReadingUnits);
      figures.push(
        `${protocol}: ${Math.round(READINGS / elapsedS)} readings/s; ${billedUnits} billed units per ${READINGS} readings (one message per reading: ${perReadingUnits})`,
      );
    },
  );
});
