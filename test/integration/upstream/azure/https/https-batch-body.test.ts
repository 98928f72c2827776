import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import { azureUpstreamSchema } from '../../../../../src/config/upstreams/azure.js';
import { silentLogger } from '../../../../../src/logger.js';
import type { Envelope } from '../../../../../src/model.js';
import { AzureHttpsUpstream } from '../../../../../src/upstream/azure/https/azure-https-upstream.js';
import { decodeBatchBody } from '../../../../../src/upstream/azure/protocol/http-message.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import { DEVICE_KEY, gatewayConfig, HOST, live, startGatewayHub } from '../gateway-fixtures.js';

/** The Java and C device SDKs' cap on a batch request body (255 KiB − 1). */
const SDK_BODY_CAP = 255 * 1024 - 1;

/** A reading with `bytes` of text in it. */
const big = (gseq: number, bytes: number): Envelope => ({
  gseq,
  reading: { device: 'sim:cam-01', ts: gseq, values: { blob: 'x'.repeat(bytes) } },
});

const gseqsIn = (bodies: Buffer[]): number[] =>
  bodies.flatMap((body) =>
    decodeBatchBody(body)!.flatMap((m) =>
      (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings.map((r) => r.gseq),
    ),
  );

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

describe('Azure HTTPS upstream: batch bodies as the hub counts them', () => {
  let hub: AzureHubEmulator | undefined;
  let server: Server | undefined;
  let upstream: AzureHttpsUpstream | undefined;
  afterEach(async () => {
    await upstream?.close();
    await hub?.close();
    server?.closeAllConnections();
    server?.close();
  });

  it('a lease of 256 KiB of readings goes through the emulator in bodies the hub takes (base64 counted)', async () => {
    hub = await startGatewayHub(certs);
    upstream = new AzureHttpsUpstream({
      config: gatewayConfig('https', hub, certs),
      gatewayId: 'gw',
      route: 'r',
      log: silentLogger(),
    });
    await upstream.connect(live());
    // 64 readings of ~4 KiB: one 256 KiB D2C message on raw bytes, 341 KB of request body in base64.
    const batch = Array.from({ length: 64 }, (_, i) => big(i + 1, 4000));
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(
      hub.d2c.flatMap((m) =>
        (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings.map((r) => r.gseq),
      ),
    ).toEqual(batch.map((e) => e.gseq));
  });

  it('dead-letters a single reading too large for any batch body, with the reason, and sends the rest', async () => {
    hub = await startGatewayHub(certs);
    upstream = new AzureHttpsUpstream({
      config: gatewayConfig('https', hub, certs),
      gatewayId: 'gw',
      route: 'r',
      log: silentLogger(),
    });
    await upstream.connect(live());
    // 240 KiB of text: under the hub's 256 KB message limit raw, over 255 KiB − 1 once base64-encoded.
    const result = await upstream.send([big(1, 100), big(2, 240 * 1024), big(3, 100)], live());
    expect(result).toEqual({
      kind: 'partial',
      acked: [1, 3],
      rejected: [{ gseq: 2, reason: expect.stringMatching(/exceeds the hub's message limit/) as unknown }],
    });
  });

  it('a hub that answers 413 below our cap: the batch goes in halves, and a reading it refuses alone is dead-lettered', async () => {
    // A behavioural fake of a stricter hub: 413 for any body over 40,000 bytes; records what it took.
    const taken: Buffer[] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'GET') return void res.writeHead(204).end();
        if (body.length > 40_000) return void res.writeHead(413).end();
        taken.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const config = azureUpstreamSchema.parse({
      type: 'azure',
      protocol: 'https',
      hostName: HOST,
      deviceId: 'gw-contract',
      sharedAccessKey: DEVICE_KEY,
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      ackTimeoutMs: 3000,
      c2dPollIntervalS: 60,
    });
    upstream = new AzureHttpsUpstream({ config, gatewayId: 'gw', route: 'r', log: silentLogger() });
    await upstream.connect(live());
    const batch = [...Array.from({ length: 20 }, (_, i) => big(i + 1, 2000)), big(21, 35_000), big(22, 100)];
    const result = await upstream.send(batch, live());
    expect(result).toEqual({
      kind: 'partial',
      acked: [...Array.from({ length: 20 }, (_, i) => i + 1), 22],
      rejected: [
        { gseq: 21, reason: expect.stringMatching(/refused the reading as too large \(413\)/) as unknown },
      ],
    });
    expect(gseqsIn(taken)).toEqual(result.kind === 'partial' ? result.acked : []);
    for (const body of taken) expect(body.length).toBeLessThanOrEqual(SDK_BODY_CAP);
  });
});
