import type { PeerCertificate } from 'node:tls';
import type { HubRegistry } from './registry.js';

/**
 * True when the TLS client certificate is the one registered for the device (thumbprint mode,
 * docs/clouds/azure-iot-hub.md#x509): its SHA-256 or SHA-1 fingerprint equals the device's `thumbprint`,
 * compared without colons and
 * case-insensitively. A disabled device, a device with no thumbprint and a connection with no
 * certificate never match. The front ends ask for a certificate but do not verify its chain, as the hub
 * does for self-signed device certificates: the registered thumbprint is the whole check.
 */
export function certificateMatchesDevice(
  registry: HubRegistry,
  deviceId: string,
  certificate: PeerCertificate | null | undefined,
): boolean {
  const device = registry.device(deviceId);
  const expected = normalise(device?.thumbprint);
  if (device?.enabled === false || expected === '') return false;
  // getPeerCertificate() gives an empty object when the client sent no certificate.
  const presented = [normalise(certificate?.fingerprint256), normalise(certificate?.fingerprint)];
  return presented.includes(expected);
}

function normalise(thumbprint: string | undefined): string {
  return (thumbprint ?? '').replace(/:/g, '').toLowerCase();
}
