import { azureUpstreamSchema, type AzureUpstreamConfig } from '../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import type { Upstream } from '../../../../src/upstream/upstream.js';
import type { UpstreamHarness } from '../../../contract/upstream.contract.js';
import type { TestCertificates } from '../../azure/certificates.js';

/**
 * Shared by the gateway-identity connector tests (MQTT, AMQP, HTTPS): a hub that knows the gateway device,
 * the connector's config, what the hub got, and the upstream contract's harness over them.
 */

export const HOST = 'test-hub.azure-devices.net';
export const DEVICE_KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');
export const POLICY_KEY = Buffer.from('policy-key-for-tests-only-000002').toString('base64');
export const live = (): AbortSignal => new AbortController().signal;
export const envelope = (gseq: number): Envelope => ({
  gseq,
  reading: { device: 'sim:thermo-01', ts: gseq, values: { n: gseq } },
});

/**
 * A hub on all three protocols where the gateway device `gw-contract` has a key and `gw-x509` is the test
 * client certificate; the policy `device` may connect any device.
 */
export function startGatewayHub(certs: TestCertificates): Promise<AzureHubEmulator> {
  const registry = new HubRegistry({
    hostName: HOST,
    devices: {
      'gw-contract': { primaryKey: DEVICE_KEY },
      'gw-x509': { thumbprint: certs.client.thumbprint },
    },
    policies: { device: { key: POLICY_KEY, permissions: ['DeviceConnect'] } },
  });
  return startHubWith(registry, certs);
}

/** The emulated hub for `registry` on loopback, MQTT, AMQP and HTTPS each on a free port. */
export function startHubWith(registry: HubRegistry, certs: TestCertificates): Promise<AzureHubEmulator> {
  return AzureHubEmulator.start({
    registry,
    host: '127.0.0.1',
    port: 0,
    amqpPort: 0,
    httpsPort: 0,
    tls: certs.server,
    log: silentLogger(),
  });
}

/**
 * The config of gateway `gw-contract` with its device key over `protocol` to `hub` (HTTPS polls C2D every
 * 0.1 s); `overrides` replace parsed fields as they are (`undefined` removes).
 */
export function gatewayConfig(
  protocol: 'mqtt' | 'amqp' | 'https',
  hub: AzureHubEmulator,
  certs: TestCertificates,
  overrides: Partial<AzureUpstreamConfig> = {},
): AzureUpstreamConfig {
  const endpoint = { mqtt: hub.url, amqp: hub.amqpUrl, https: hub.httpsUrl }[protocol];
  return {
    ...azureUpstreamSchema.parse({
      type: 'azure',
      protocol,
      hostName: HOST,
      deviceId: 'gw-contract',
      sharedAccessKey: DEVICE_KEY,
      endpoint,
      tls: { caFile: certs.server.certFile },
      ackTimeoutMs: 3000,
      ...(protocol === 'https' ? { c2dPollIntervalS: 0.1 } : {}),
    }),
    ...overrides,
  };
}

export const telemetry = (hub: AzureHubEmulator) =>
  hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'telemetry');

/** The gseqs of every reading the hub received, in arrival order. */
export const gseqs = (hub: AzureHubEmulator): number[] =>
  telemetry(hub).flatMap((m) =>
    (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings.map((r) => r.gseq),
  );

/** The command results the hub received. */
export const results = (hub: AzureHubEmulator) =>
  hub.d2c
    .filter((m) => m.properties['fieldgate-type'] === 'commandResult')
    .map((m) => JSON.parse(m.body.toString()) as { id: string; status: string; device?: string });

/** The upstream contract's view of `upstream` (made for `hub`): commands are C2D messages to the gateway. */
export function contractHarness(hub: AzureHubEmulator, upstream: Upstream): UpstreamHarness {
  return {
    upstream,
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
}
