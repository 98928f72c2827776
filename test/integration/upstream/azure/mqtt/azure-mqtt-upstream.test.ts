import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AzureUpstreamConfig } from '../../../../../src/config/upstreams/azure.js';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import { isFieldgateError } from '../../../../../src/errors.js';
import { silentLogger } from '../../../../../src/logger.js';
import { AzureMqttUpstream } from '../../../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import type { IncomingCommand } from '../../../../../src/upstream/upstream.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import {
  envelope,
  gatewayConfig,
  gseqs,
  live,
  POLICY_KEY,
  startGatewayHub,
  telemetry,
} from '../gateway-fixtures.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

function upstreamFor(hub: AzureHubEmulator, overrides: Partial<AzureUpstreamConfig> = {}): AzureMqttUpstream {
  const config = gatewayConfig('mqtt', hub, certs, overrides);
  return new AzureMqttUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() });
}

describe('Azure MQTT upstream against the emulator', () => {
  let hub: AzureHubEmulator;
  let upstream: AzureMqttUpstream | undefined;
  beforeEach(async () => {
    hub = await startGatewayHub(certs);
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
    expect(upstream.stats()).toMatchObject({
      messages: 1,
      readings: 2,
      billedUnits: hub.counters().billedUnits,
    });
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
