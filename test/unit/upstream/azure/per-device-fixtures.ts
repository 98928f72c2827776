import { Writable } from 'node:stream';
import { AzureHubEmulator } from '../../../../src/emulator/azure/hub.js';
import { HubRegistry } from '../../../../src/emulator/azure/registry.js';
import { createLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { deriveDeviceKey } from '../../../../src/upstream/azure/leaf-identity.js';
import type { TestCertificates } from '../../../integration/azure/certificates.js';

/** Shared by the per-device MQTT and HTTPS connector tests: a hub with leaf devices, and what it got. */

export const HOST = 'test-hub.azure-devices.net';
export const OWN_KEY = Buffer.from('own-key-of-thermo-for-tests-0001').toString('base64');
export const GROUP_KEY = Buffer.from('group-key-for-tests-only-0000003').toString('base64');
export const POLICY_KEY = Buffer.from('policy-key-for-tests-only-000002').toString('base64');
export const live = (): AbortSignal => new AbortController().signal;
export const reading = (gseq: number, device: string): Envelope => ({
  gseq,
  reading: { device, ts: gseq, values: { n: gseq } },
});

/** A hub (MQTT, HTTPS) where `sim:thermo-01` has its own key and `sim:switch-01` a group-derived one. */
export function startHub(certs: TestCertificates): Promise<AzureHubEmulator> {
  const registry = new HubRegistry({
    hostName: HOST,
    devices: {
      'sim:thermo-01': { primaryKey: OWN_KEY },
      'sim:switch-01': { primaryKey: deriveDeviceKey(GROUP_KEY, 'sim:switch-01') },
      ble_aa_bb: { primaryKey: OWN_KEY },
    },
    policies: { device: { key: POLICY_KEY, permissions: ['DeviceConnect'] } },
  });
  return AzureHubEmulator.start({
    registry,
    host: '127.0.0.1',
    port: 0,
    httpsPort: 0,
    tls: certs.server,
    log: createLogger({ level: 'silent' }),
  });
}

/** A logger whose WARN lines the test can read. */
export function capturingLogger(): {
  log: ReturnType<typeof createLogger>;
  warnings: () => { leaf?: string; msg: string }[];
} {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  const log = createLogger({ level: 'warn', destination });
  const warnings = (): { leaf?: string; msg: string }[] =>
    lines
      .map((l) => JSON.parse(l) as { level: number; leaf?: string; msg: string })
      .filter((l) => l.level === 40);
  return { log, warnings };
}

export const telemetry = (hub: AzureHubEmulator) =>
  hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'telemetry');

/** Device id the hub stamped → gseqs it received under it. */
export function received(hub: AzureHubEmulator): Record<string, number[]> {
  const byDevice: Record<string, number[]> = {};
  for (const m of telemetry(hub)) {
    const readings = (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings;
    (byDevice[m.systemProperties['iothub-connection-device-id']!] ??= []).push(
      ...readings.map((r) => r.gseq),
    );
  }
  return byDevice;
}
