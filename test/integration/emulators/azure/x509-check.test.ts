import type { PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { certificateMatchesDevice } from '../../../../emulators/azure/index.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { silentLogger } from '../../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { AzureHttpsUpstream } from '../../../../src/upstream/azure/https/azure-https-upstream.js';
import { makeTestCertificates, type TestCertificates } from '../../../integration/azure/certificates.js';

const HOST = 'test-hub.azure-devices.net';
const SHA256 = 'AB:CD:'.repeat(16).slice(0, -1);
const SHA1 = '12:34:'.repeat(10).slice(0, -1);
const certificate = { fingerprint256: SHA256, fingerprint: SHA1 } as PeerCertificate;

describe('certificateMatchesDevice', () => {
  const registry = new HubRegistry({
    hostName: HOST,
    devices: {
      bare: { thumbprint: SHA256.replace(/:/g, '').toLowerCase() },
      sha1: { thumbprint: SHA1 },
      partial: { thumbprint: 'abcd' },
      off: { thumbprint: SHA256, enabled: false },
      keyed: { primaryKey: 'a2V5' },
    },
  });

  it('matches the SHA-256 or SHA-1 thumbprint, with or without colons, in any case', () => {
    expect(certificateMatchesDevice(registry, 'bare', certificate)).toBe(true);
    expect(certificateMatchesDevice(registry, 'sha1', certificate)).toBe(true);
  });

  it('refuses a thumbprint that is only part of the certificate’s', () => {
    expect(certificateMatchesDevice(registry, 'partial', certificate)).toBe(false);
  });

  it('refuses a disabled device, a device without a thumbprint, an unknown device and no certificate', () => {
    expect(certificateMatchesDevice(registry, 'off', certificate)).toBe(false);
    expect(certificateMatchesDevice(registry, 'keyed', certificate)).toBe(false);
    expect(certificateMatchesDevice(registry, 'nobody', certificate)).toBe(false);
    expect(certificateMatchesDevice(registry, 'bare', {} as PeerCertificate)).toBe(false);
    expect(certificateMatchesDevice(registry, 'bare', undefined)).toBe(false);
  });
});

/** fieldgate's own AMQP and HTTPS upstreams with a client certificate, as a gateway would connect. */
describe.each(['amqp', 'https'] as const)('the emulator’s %s front end with X.509 devices', (protocol) => {
  let certs: TestCertificates;
  let hub: AzureHubEmulator;

  beforeAll(async () => {
    certs = await makeTestCertificates();
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({
        hostName: HOST,
        devices: {
          'gw-x509': { thumbprint: certs.client.thumbprint },
          'gw-other': { thumbprint: 'ab'.repeat(32) },
        },
      }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      httpsPort: 0,
      tls: certs.server,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    await hub.close();
    await certs.cleanup();
  });

  const upstreamFor = (deviceId: string) => {
    const config = azureUpstreamSchema.parse({
      type: 'azure',
      protocol,
      hostName: HOST,
      deviceId,
      endpoint: protocol === 'amqp' ? hub.amqpUrl : hub.httpsUrl,
      tls: { caFile: certs.server.certFile, certFile: certs.client.certFile, keyFile: certs.client.keyFile },
      ackTimeoutMs: 3000,
    });
    const options = { config, gatewayId: deviceId, route: 'x509', log: silentLogger() };
    return protocol === 'amqp' ? new AzureAmqpUpstream(options) : new AzureHttpsUpstream(options);
  };
  const envelope = { gseq: 1, reading: { device: 'sim:thermo-01', ts: 1, values: { n: 1 } } };

  it('takes the device’s registered certificate instead of a token and stamps x509', async () => {
    const upstream = upstreamFor('gw-x509');
    const signal = new AbortController().signal;
    try {
      await upstream.connect(signal);
      expect(await upstream.send([envelope], signal)).toEqual({ kind: 'ok' });
    } finally {
      await upstream.close();
    }
    const record = hub.d2c.find((r) => r.deviceId === 'gw-x509');
    expect(JSON.parse(record!.systemProperties['iothub-connection-auth-method']!)).toMatchObject({
      type: 'x509',
    });
  });

  it('refuses a certificate that is not the device’s as an auth failure', async () => {
    const upstream = upstreamFor('gw-other');
    const error = await upstream
      .connect(new AbortController().signal)
      .catch((e: unknown) => e)
      .finally(() => upstream.close());
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
    expect(hub.d2c.some((r) => r.deviceId === 'gw-other')).toBe(false);
  });
});
