import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import { createLogger } from '../../../../../src/logger.js';
import { PerDeviceAmqpUpstream } from '../../../../../src/upstream/azure/per-device/per-device-amqp-upstream.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import {
  capturingLogger,
  expectC2dCommandForConfiguredLeaf,
  expectNothingLostAcrossTokenRenewals,
  expectRefusedLeafDeliveredOnceKnown,
  live,
  perDeviceConfig,
  POLICY_KEY,
  reading,
  received,
  startHub,
  telemetry,
} from './per-device-fixtures.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

function upstreamFor(
  hub: AzureHubEmulator,
  overrides: Record<string, unknown> = {},
  log = createLogger({ level: 'silent' }),
): PerDeviceAmqpUpstream {
  const config = perDeviceConfig('amqp', hub.amqpUrl!, certs, overrides);
  return new PerDeviceAmqpUpstream({ config, gatewayId: 'gw-1', route: 'r', log });
}

describe('Azure AMQP upstream, per-device identities', () => {
  let hub: AzureHubEmulator;
  let upstream: PerDeviceAmqpUpstream | undefined;
  beforeEach(async () => {
    hub = await startHub(certs);
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
    await expectRefusedLeafDeliveredOnceKnown(hub, upstream);
  });

  it('renews each device’s token on the shared CBS link, losing nothing', async () => {
    // Without renewal the hub detaches a device's links when its 3 s token runs out and a send fails.
    upstream = upstreamFor(hub, { tokenTtlS: 3, tokenRenewBeforeS: 2 });
    await upstream.connect(live());
    await expectNothingLostAcrossTokenRenewals(hub, upstream);
  });

  it('takes a C2D message to a leaf’s hub device as a command for that leaf, and settles it by the result', async () => {
    upstream = upstreamFor(hub);
    await expectC2dCommandForConfiguredLeaf(hub, upstream);
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
