import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { azureUpstreamSchema, type AzureUpstreamConfig } from '../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator } from '../../../../src/emulator/azure/hub.js';
import { HubRegistry } from '../../../../src/emulator/azure/registry.js';
import { createLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { deriveDeviceKey } from '../../../../src/upstream/azure/leaf-identity.js';
import { PerDeviceAmqpUpstream } from '../../../../src/upstream/azure/per-device-amqp-upstream.js';
import type { IncomingCommand } from '../../../../src/upstream/upstream.js';
import { waitFor } from '../../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from '../../../integration/azure/certificates.js';

const HOST = 'test-hub.azure-devices.net';
const OWN_KEY = Buffer.from('own-key-of-thermo-for-tests-0001').toString('base64');
const GROUP_KEY = Buffer.from('group-key-for-tests-only-0000003').toString('base64');
const POLICY_KEY = Buffer.from('policy-key-for-tests-only-000002').toString('base64');
const live = (): AbortSignal => new AbortController().signal;
const reading = (gseq: number, device: string): Envelope => ({
  gseq,
  reading: { device, ts: gseq, values: { n: gseq } },
});

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

/** A hub where `sim:thermo-01` has its own key and `sim:switch-01` a key derived from the group key. */
async function startHub(): Promise<AzureHubEmulator> {
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
    amqpPort: 0,
    tls: certs.server,
    log: createLogger({ level: 'silent' }),
  });
}

/** A logger whose WARN lines the test can read. */
function capturingLogger(): {
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

function upstreamFor(
  hub: AzureHubEmulator,
  overrides: Record<string, unknown> = {},
  log = createLogger({ level: 'silent' }),
): PerDeviceAmqpUpstream {
  const config: AzureUpstreamConfig = {
    ...azureUpstreamSchema.parse({
      type: 'azure',
      protocol: 'amqp',
      identity: 'perDevice',
      hostName: HOST,
      leaves: { 'sim:thermo-01': { sharedAccessKey: OWN_KEY } },
      groupKey: GROUP_KEY,
      endpoint: hub.amqpUrl,
      tls: { caFile: certs.server.certFile },
      ackTimeoutMs: 3000,
    }),
    ...overrides,
  };
  return new PerDeviceAmqpUpstream({ config, gatewayId: 'gw-1', route: 'r', log });
}

const telemetry = (hub: AzureHubEmulator) =>
  hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'telemetry');
/** Device id the hub stamped → gseqs it received under it. */
function received(hub: AzureHubEmulator): Record<string, number[]> {
  const byDevice: Record<string, number[]> = {};
  for (const m of telemetry(hub)) {
    const readings = (JSON.parse(m.body.toString()) as { readings: { gseq: number }[] }).readings;
    (byDevice[m.systemProperties['iothub-connection-device-id']!] ??= []).push(
      ...readings.map((r) => r.gseq),
    );
  }
  return byDevice;
}

describe('Azure AMQP upstream, per-device identities', () => {
  let hub: AzureHubEmulator;
  let upstream: PerDeviceAmqpUpstream | undefined;
  beforeEach(async () => {
    hub = await startHub();
  });
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
    await hub.close();
  });

  it('sends each leaf’s readings under its own hub device, with its own or a group-derived key', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    const batch = [reading(1, 'sim:thermo-01'), reading(2, 'sim:switch-01'), reading(3, 'sim:thermo-01')];
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual({ 'sim:thermo-01': [1, 3], 'sim:switch-01': [2] });
    const thermo = telemetry(hub).find((m) => m.deviceId === 'sim:thermo-01')!;
    expect(thermo.properties).toMatchObject({ 'fieldgate-device': 'sim:thermo-01', 'fieldgate-count': '2' });
    expect(upstream.stats()).toMatchObject({ messages: 2, readings: 3, heldLeaves: [] });
  });

  it('covers every leaf with one hub-scoped token from a DeviceConnect policy', async () => {
    upstream = upstreamFor(hub, {
      leaves: {},
      groupKey: undefined,
      sharedAccessKey: POLICY_KEY,
      sharedAccessKeyName: 'device',
    });
    await upstream.connect(live());
    // `ble aa bb` has spaces, which the default hub device id turns into `_`.
    const batch = [reading(1, 'sim:thermo-01'), reading(2, 'ble aa bb'), reading(3, 'sim:switch-01')];
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual({ 'sim:thermo-01': [1], ble_aa_bb: [2], 'sim:switch-01': [3] });
  });

  it('keeps the readings of a leaf without identity queued, warns once, and lets the others through', async () => {
    const { log, warnings } = capturingLogger();
    upstream = upstreamFor(hub, { groupKey: undefined }, log);
    await upstream.connect(live());
    const first = await upstream.send([reading(1, 'sim:switch-01'), reading(2, 'sim:thermo-01')], live());
    expect(first).toEqual({ kind: 'partial', acked: [2], rejected: [] });
    const second = await upstream.send([reading(1, 'sim:switch-01'), reading(3, 'sim:thermo-01')], live());
    expect(second).toEqual({ kind: 'partial', acked: [3], rejected: [] });
    // Only the unknown leaf in the batch: nothing to acknowledge, so a retry that names it.
    const third = await upstream.send([reading(1, 'sim:switch-01')], live());
    expect(third).toMatchObject({
      kind: 'retry',
      reason: expect.stringContaining('sim:switch-01') as string,
    });
    expect(received(hub)).toEqual({ 'sim:thermo-01': [2, 3] });
    expect(warnings().filter((w) => w.leaf === 'sim:switch-01')).toHaveLength(1);
    expect(upstream.stats().heldLeaves).toEqual([
      {
        leaf: 'sim:switch-01',
        reason: expect.stringContaining('no key') as string,
        since: expect.any(Number) as number,
      },
    ]);
  });

  it('holds a leaf the hub refuses, and delivers its readings once the hub knows the device', async () => {
    upstream = upstreamFor(hub, { refusedRetryS: 0.2 });
    await upstream.connect(live());
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
  });

  it('renews each device’s token on the shared CBS link, losing nothing', async () => {
    // Without renewal the hub detaches a device's links when its 3 s token runs out and a send fails.
    upstream = upstreamFor(hub, { tokenTtlS: 3, tokenRenewBeforeS: 2 });
    await upstream.connect(live());
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
  });

  it('takes a C2D message to a leaf’s hub device as a command for that leaf, and settles it by the result', async () => {
    upstream = upstreamFor(hub);
    const commands: IncomingCommand[] = [];
    upstream.onCommand((c) => commands.push(c));
    await upstream.connect(live());
    // A configured leaf listens from connect on, before it sent anything.
    hub.sendC2d('sim:thermo-01', { messageId: 'c-1', ack: 'full', body: JSON.stringify({ name: 'on' }) });
    await waitFor(() => commands.length === 1, 'the command');
    expect(commands[0]).toMatchObject({
      kind: 'command',
      command: { id: 'c-1', device: 'sim:thermo-01', name: 'on' },
    });
    await upstream.publishResult({ id: 'c-1', device: 'sim:thermo-01' }, { id: 'c-1', status: 'ok' });
    await waitFor(() => hub.feedback().length === 1, 'the hub feedback');
    expect(hub.feedback()[0]).toMatchObject({
      originalMessageId: 'c-1',
      statusCode: 'Success',
      deviceId: 'sim:thermo-01',
    });
    const result = hub.d2c.find((m) => m.properties['fieldgate-type'] === 'commandResult')!;
    expect(result.deviceId).toBe('sim:thermo-01');
  });
});
