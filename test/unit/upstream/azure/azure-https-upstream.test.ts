import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { azureUpstreamSchema, type AzureUpstreamConfig } from '../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator } from '../../../../src/emulator/azure/hub.js';
import { HubRegistry } from '../../../../src/emulator/azure/registry.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { silentLogger } from '../../../../src/logger.js';
import type { CommandStatus, Envelope } from '../../../../src/model.js';
import { AzureHttpsUpstream } from '../../../../src/upstream/azure/azure-https-upstream.js';
import { describeUpstreamContract } from '../../../contract/upstream.contract.js';
import { waitFor } from '../../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from '../../../integration/azure/certificates.js';

const HOST = 'test-hub.azure-devices.net';
const DEVICE_KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');
const POLICY_KEY = Buffer.from('policy-key-for-tests-only-000002').toString('base64');
const live = (): AbortSignal => new AbortController().signal;
const envelope = (gseq: number): Envelope => ({
  gseq,
  reading: { device: 'sim:thermo-01', ts: gseq, values: { n: gseq } },
});

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

async function startHub(): Promise<AzureHubEmulator> {
  const registry = new HubRegistry({
    hostName: HOST,
    devices: { 'gw-contract': { primaryKey: DEVICE_KEY } },
    policies: { device: { key: POLICY_KEY, permissions: ['DeviceConnect'] } },
  });
  return AzureHubEmulator.start({
    registry,
    host: '127.0.0.1',
    port: 0,
    httpsPort: 0,
    tls: certs.server,
    log: silentLogger(),
  });
}

function upstreamFor(
  hub: AzureHubEmulator,
  overrides: Partial<AzureUpstreamConfig> = {},
): AzureHttpsUpstream {
  const config = {
    ...azureUpstreamSchema.parse({
      type: 'azure',
      protocol: 'https',
      hostName: HOST,
      deviceId: 'gw-contract',
      sharedAccessKey: DEVICE_KEY,
      endpoint: hub.httpsUrl,
      c2dPollIntervalS: 0.1,
      tls: { caFile: certs.server.certFile },
      ackTimeoutMs: 3000,
    }),
    ...overrides,
  };
  return new AzureHttpsUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() });
}

const telemetry = (hub: AzureHubEmulator) =>
  hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'telemetry');
const gseqs = (hub: AzureHubEmulator): number[] =>
  telemetry(hub).flatMap((m) =>
    (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings.map((r) => r.gseq),
  );
const results = (hub: AzureHubEmulator) =>
  hub.d2c
    .filter((m) => m.properties['fieldgate-type'] === 'commandResult')
    .map((m) => JSON.parse(m.body.toString()) as { id: string; status: string; device?: string });

describeUpstreamContract('azure (https, gateway identity)', async () => {
  const hub = await startHub();
  return {
    upstream: upstreamFor(hub),
    received: () => gseqs(hub),
    results: () => results(hub),
    sendCommand: async (device, body) => {
      hub.sendC2d('gw-contract', {
        messageId: body.id,
        body: JSON.stringify({ device, name: body.name, args: body.args }),
      });
      await Promise.resolve();
    },
    takeOffline: () => hub.close(),
    dispose: () => hub.close(),
  };
});

describe('Azure HTTPS upstream against the emulator', () => {
  let hub: AzureHubEmulator;
  let upstream: AzureHttpsUpstream | undefined;
  beforeEach(async () => {
    hub = await startHub();
  });
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
    await hub.close();
  });

  it('sends a batch as one request of full D2C messages, under its own identity, billed in 4 KB units', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    expect(await upstream.send([envelope(1), envelope(2)], live())).toEqual({ kind: 'ok' });
    const [message] = telemetry(hub);
    expect(message!.systemProperties['iothub-connection-device-id']).toBe('gw-contract');
    expect(message!.properties).toMatchObject({
      '$.mid': 'gw-contract-contract-1',
      '$.ct': 'application/json',
      '$.ce': 'utf-8',
      'fieldgate-count': '2',
    });
    expect(upstream.stats()).toEqual({ messages: 1, readings: 2, billedUnits: hub.counters().billedUnits });
  });

  it('connects with a DeviceConnect policy key', async () => {
    upstream = upstreamFor(hub, { sharedAccessKey: POLICY_KEY, sharedAccessKeyName: 'device' });
    await upstream.connect(live());
    expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'ok' });
  });

  it('reports a wrong key as a retryable auth failure (401)', async () => {
    upstream = upstreamFor(hub, { sharedAccessKey: POLICY_KEY });
    const error = await upstream.connect(live()).catch((e: unknown) => e);
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
  });

  it('signs a fresh token before the current one runs out, losing and reordering nothing', async () => {
    upstream = upstreamFor(hub, { tokenTtlS: 2, tokenRenewBeforeS: 1 });
    await upstream.connect(live());
    const sent: number[] = [];
    const deadline = Date.now() + 3500;
    for (let gseq = 1; Date.now() < deadline; gseq += 1) {
      expect(await upstream.send([envelope(gseq)], live())).toEqual({ kind: 'ok' });
      sent.push(gseq);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(gseqs(hub)).toEqual(sent);
  });

  it('keeps the data when throttled or over quota, and delivers it once the hub allows', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    hub.meter.setLimits({ dailyQuotaUnits: 0 });
    expect(await upstream.send([envelope(1)], live())).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/quota/) as unknown,
    });
    hub.meter.setLimits({ dailyQuotaUnits: Infinity, d2cPerSecond: 0 });
    expect(await upstream.send([envelope(1)], live())).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/throttled/) as unknown,
    });
    hub.meter.setLimits({ d2cPerSecond: 100 });
    expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'ok' });
    expect(gseqs(hub)).toEqual([1]);
    expect(hub.counters()).toMatchObject({ quotaRefused: 1, throttled: 1 });
  });

  it.each([
    ['ok', 'Success'],
    ['failed', 'Success'],
    ['rejected', 'Rejected'],
    ['expired', 'Rejected'],
  ] as [CommandStatus, string][])(
    'settles a C2D message by its command’s result: %s → feedback %s',
    async (status, feedback) => {
      upstream = upstreamFor(hub);
      const up = upstream;
      up.onCommand((incoming) => {
        if (incoming.kind === 'command')
          void up.publishResult(incoming.command, { id: incoming.command.id, status });
      });
      await up.connect(live());
      hub.sendC2d('gw-contract', {
        messageId: 'c-1',
        ack: 'full',
        body: JSON.stringify({ device: 'sim:switch-01', name: 'on' }),
      });
      await waitFor(() => hub.feedback().length === 1, 'the hub to settle the message');
      expect(hub.feedback()[0]).toMatchObject({ originalMessageId: 'c-1', statusCode: feedback });
      expect(hub.c2d.depth('gw-contract')).toBe(0);
      await waitFor(() => results(hub).length === 1, 'the result message');
      expect(results(hub)[0]).toMatchObject({ id: 'c-1', status, device: 'sim:switch-01' });
    },
  );

  it('abandons a C2D message it cannot take, so the hub redelivers it (and counts each abandon)', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    hub.sendC2d('gw-contract', { messageId: 'c-lost', ack: 'negative', body: '{}' });
    // No handler: every delivery is abandoned, and the hub gives up after its 10 deliveries.
    await waitFor(() => hub.feedback().length === 1, 'the hub to give up on the message');
    expect(hub.feedback()[0]).toMatchObject({
      originalMessageId: 'c-lost',
      statusCode: 'DeliveryCountExceeded',
    });
  });
});
