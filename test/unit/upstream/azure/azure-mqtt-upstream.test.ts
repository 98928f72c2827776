import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { azureUpstreamSchema, type AzureUpstreamConfig } from '../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator } from '../../../../src/emulator/azure/hub.js';
import { HubRegistry } from '../../../../src/emulator/azure/registry.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { silentLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { AzureMqttUpstream } from '../../../../src/upstream/azure/azure-mqtt-upstream.js';
import type { IncomingCommand } from '../../../../src/upstream/upstream.js';
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
    devices: {
      'gw-contract': { primaryKey: DEVICE_KEY },
      'gw-x509': { thumbprint: certs.client.thumbprint },
    },
    policies: { device: { key: POLICY_KEY, permissions: ['DeviceConnect'] } },
  });
  return AzureHubEmulator.start({
    registry,
    host: '127.0.0.1',
    port: 0,
    tls: certs.server,
    log: silentLogger(),
  });
}

function upstreamFor(hub: AzureHubEmulator, overrides: Partial<AzureUpstreamConfig> = {}): AzureMqttUpstream {
  const config = {
    ...azureUpstreamSchema.parse({
      type: 'azure',
      hostName: HOST,
      deviceId: 'gw-contract',
      sharedAccessKey: DEVICE_KEY,
      endpoint: hub.url,
      tls: { caFile: certs.server.certFile },
      ackTimeoutMs: 3000,
    }),
    ...overrides,
  };
  return new AzureMqttUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() });
}

const telemetry = (hub: AzureHubEmulator) =>
  hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'telemetry');
const gseqs = (hub: AzureHubEmulator): number[] =>
  telemetry(hub).flatMap((m) =>
    (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings.map((r) => r.gseq),
  );

describeUpstreamContract('azure (mqtt, gateway identity)', async () => {
  const hub = await startHub();
  return {
    upstream: upstreamFor(hub),
    received: () => gseqs(hub),
    results: () =>
      hub.d2c
        .filter((m) => m.properties['fieldgate-type'] === 'commandResult')
        .map((m) => JSON.parse(m.body.toString()) as { id: string; status: string; device?: string }),
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

describe('Azure MQTT upstream against the emulator', () => {
  let hub: AzureHubEmulator;
  let upstream: AzureMqttUpstream | undefined;
  beforeEach(async () => {
    hub = await startHub();
  });
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
    await hub.close();
  });

  it('is seen under its own device identity, with the hub-stamped properties, billed in 4 KB units', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    expect(await upstream.send([envelope(1), envelope(2)], live())).toEqual({ kind: 'ok' });
    const [message] = telemetry(hub);
    expect(message!.systemProperties['iothub-connection-device-id']).toBe('gw-contract');
    expect(message!.properties).toMatchObject({
      '$.mid': 'gw-contract-contract-1',
      '$.ct': 'application/json',
    });
    expect(upstream.stats()).toEqual({ messages: 1, readings: 2, billedUnits: hub.counters().billedUnits });
  });

  it('connects with a DeviceConnect policy key', async () => {
    upstream = upstreamFor(hub, { sharedAccessKey: POLICY_KEY, sharedAccessKeyName: 'device' });
    await upstream.connect(live());
    expect(upstream.isConnected).toBe(true);
  });

  it('connects with an X.509 client certificate and no token', async () => {
    upstream = upstreamFor(hub, {
      deviceId: 'gw-x509',
      sharedAccessKey: undefined,
      tls: {
        caFile: certs.server.certFile,
        certFile: certs.client.certFile,
        keyFile: certs.client.keyFile,
        rejectUnauthorized: true,
      },
    });
    await upstream.connect(live());
    expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'ok' });
    expect(telemetry(hub)[0]!.systemProperties['iothub-connection-device-id']).toBe('gw-x509');
  });

  it('reports a wrong key as a retryable auth failure', async () => {
    upstream = upstreamFor(hub, { sharedAccessKey: POLICY_KEY });
    const error = await upstream.connect(live()).catch((e: unknown) => e);
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
  });

  it('renews its token before the hub disconnects it, without losing or reordering readings', async () => {
    upstream = upstreamFor(hub, { tokenTtlS: 3, tokenRenewBeforeS: 2 });
    await upstream.connect(live());
    const sent: number[] = [];
    const deadline = Date.now() + 4500;
    for (let gseq = 1; Date.now() < deadline; gseq += 1) {
      // Every send succeeds: the connector renewed in time, the hub never had to drop it.
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
    expect(await upstream.send([envelope(1)], live())).toMatchObject({ kind: 'retry' });
    hub.meter.setLimits({ dailyQuotaUnits: Infinity, d2cPerSecond: 0 });
    await waitFor(() => !upstream!.isConnected, 'the hub to drop the connection');
    await upstream.connect(live());
    expect(await upstream.send([envelope(1)], live())).toMatchObject({ kind: 'retry' });
    hub.meter.setLimits({ d2cPerSecond: 100 });
    await waitFor(() => !upstream!.isConnected, 'the hub to drop the connection');
    await upstream.connect(live());
    expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'ok' });
    expect(gseqs(hub)).toEqual([1]);
    expect(hub.counters()).toMatchObject({ quotaRefused: 1, throttled: 1 });
  });

  it('completes a C2D message on receipt and passes its TTL on as the command deadline', async () => {
    upstream = upstreamFor(hub);
    const received: IncomingCommand[] = [];
    upstream.onCommand((incoming) => received.push(incoming));
    await upstream.connect(live());
    hub.sendC2d('gw-contract', {
      messageId: 'c-1',
      ack: 'full',
      ttlMs: 60_000,
      body: JSON.stringify({ device: 'sim:switch-01', name: 'on' }),
    });
    await waitFor(() => hub.feedback().length === 1, 'the hub to see the message completed');
    expect(hub.feedback()[0]).toMatchObject({ originalMessageId: 'c-1', statusCode: 'Success' });
    expect(received).toHaveLength(1);
    const incoming = received[0]!;
    expect(incoming.kind === 'command' && incoming.command.expiresAt).toBeGreaterThan(Date.now());
  });

  it('answers a direct method with the result as its status and payload', async () => {
    upstream = upstreamFor(hub);
    const up = upstream;
    up.onCommand((incoming) => {
      if (incoming.kind === 'command')
        void up.publishResult(incoming.command, {
          id: incoming.command.id,
          status: 'unsupported',
          detail: 'no such command',
        });
    });
    await up.connect(live());
    const reply = await hub.invokeMethod('gw-contract', 'dance', { device: 'sim:switch-01' }, 5000);
    expect(reply).toMatchObject({
      status: 501,
      payload: { status: 'unsupported', detail: 'no such command', device: 'sim:switch-01' },
    });
  });
});
