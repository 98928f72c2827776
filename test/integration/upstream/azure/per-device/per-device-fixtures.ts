import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { azureUpstreamSchema, type AzureUpstreamConfig } from '../../../../../src/config/upstreams/azure.js';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../../emulators/azure/index.js';
import { createLogger } from '../../../../../src/logger.js';
import type { Envelope } from '../../../../../src/model.js';
import type { HeldLeaf } from '../../../../../src/upstream/azure/per-device/held-leaves.js';
import { deriveDeviceKey } from '../../../../../src/upstream/azure/per-device/leaf-identity.js';
import type { IncomingCommand, Upstream } from '../../../../../src/upstream/upstream.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import type { TestCertificates } from '../../../azure/certificates.js';
import { startHubWith } from '../gateway-fixtures.js';

/**
 * Shared by the per-device MQTT, AMQP and HTTPS connector tests: a hub with leaf devices, the connector's
 * config, what the hub got, and the checks that read the same on every protocol.
 */

export const HOST = 'test-hub.azure-devices.net';
export const OWN_KEY = Buffer.from('own-key-of-thermo-for-tests-0001').toString('base64');
export const GROUP_KEY = Buffer.from('group-key-for-tests-only-0000003').toString('base64');
export const POLICY_KEY = Buffer.from('policy-key-for-tests-only-000002').toString('base64');
export const live = (): AbortSignal => new AbortController().signal;
export const reading = (gseq: number, device: string): Envelope => ({
  gseq,
  reading: { device, ts: gseq, values: { n: gseq } },
});

/** A hub (MQTT, AMQP, HTTPS) where `sim:thermo-01` has its own key and `sim:switch-01` a group-derived one. */
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
  return startHubWith(registry, certs);
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

/**
 * A perDevice config for `protocol` against `endpoint`: `sim:thermo-01` has its own key, every other leaf
 * a key derived from the group key. `overrides` replace parsed fields as they are (`undefined` removes).
 */
export function perDeviceConfig(
  protocol: 'mqtt' | 'amqp' | 'https',
  endpoint: string,
  certs: TestCertificates,
  overrides: Record<string, unknown> = {},
): AzureUpstreamConfig {
  return {
    ...azureUpstreamSchema.parse({
      type: 'azure',
      protocol,
      identity: 'perDevice',
      hostName: HOST,
      leaves: { 'sim:thermo-01': { sharedAccessKey: OWN_KEY } },
      groupKey: GROUP_KEY,
      endpoint,
      tls: { caFile: certs.server.certFile },
      ackTimeoutMs: 3000,
    }),
    ...overrides,
  };
}

type PerDeviceUpstream = Pick<Upstream, 'send'> & { stats(): { heldLeaves: HeldLeaf[] } };

/**
 * With `refusedRetryS` short: readings of `sim:new-01`, unknown to the hub, are held while the others go
 * through; once the hub knows the device, a resend (as the forwarder would) delivers them.
 */
export async function expectRefusedLeafDeliveredOnceKnown(
  hub: AzureHubEmulator,
  upstream: PerDeviceUpstream,
): Promise<void> {
  const batch = [reading(1, 'sim:new-01'), reading(2, 'sim:thermo-01')];
  expect(await upstream.send(batch, live())).toEqual({ kind: 'partial', acked: [2], rejected: [] });
  expect(upstream.stats().heldLeaves[0]).toMatchObject({ leaf: 'sim:new-01' });
  hub.registry.addDevice('sim:new-01', { primaryKey: deriveDeviceKey(GROUP_KEY, 'sim:new-01') });
  // Held until `refusedRetryS` has passed, then tried again: poll, as the forwarder would resend.
  const deadline = Date.now() + 20_000;
  while ((await upstream.send([reading(1, 'sim:new-01')], live())).kind !== 'ok') {
    if (Date.now() > deadline) throw new Error('the newly registered leaf was never sent');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(received(hub)).toEqual({ 'sim:thermo-01': [2], 'sim:new-01': [1] });
  expect(upstream.stats().heldLeaves).toEqual([]);
}

/**
 * With 3 s tokens renewed 2 s before expiry: batches to two leaves for 4.5 s, so every token is renewed at
 * least once, are all acknowledged and all arrive, in order.
 */
export async function expectNothingLostAcrossTokenRenewals(
  hub: AzureHubEmulator,
  upstream: PerDeviceUpstream,
): Promise<void> {
  const sent: number[] = [];
  const deadline = Date.now() + 4500;
  for (let gseq = 1; Date.now() < deadline; gseq += 2) {
    const batch = [reading(gseq, 'sim:thermo-01'), reading(gseq + 1, 'sim:switch-01')];
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    sent.push(gseq);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(received(hub)['sim:thermo-01']).toEqual(sent);
  expect(received(hub)['sim:switch-01']).toEqual(sent.map((g) => g + 1));
}

/**
 * Connect with a command handler, then send C2D message `c-1` (`on`) to the configured leaf
 * `sim:thermo-01`, which listens from connect on, before it sent anything: it arrives as a command for that
 * leaf. Returns the commands received so far, to which later ones are added.
 */
export async function expectC2dCommandForConfiguredLeaf(
  hub: AzureHubEmulator,
  upstream: Pick<Upstream, 'onCommand' | 'connect'>,
): Promise<IncomingCommand[]> {
  const commands: IncomingCommand[] = [];
  upstream.onCommand((c) => commands.push(c));
  await upstream.connect(live());
  hub.sendC2d('sim:thermo-01', { messageId: 'c-1', ack: 'full', body: JSON.stringify({ name: 'on' }) });
  await waitFor(() => commands.length === 1, 'the command');
  expect(commands[0]).toMatchObject({
    kind: 'command',
    command: { id: 'c-1', device: 'sim:thermo-01', name: 'on' },
  });
  return commands;
}
