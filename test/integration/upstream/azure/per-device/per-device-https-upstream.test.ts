import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import { createLogger } from '../../../../../src/logger.js';
import { createPerDeviceHttpsUpstream } from '../../../../../src/upstream/azure/per-device/per-device-https-upstream.js';
import type { PerDeviceLinksUpstream } from '../../../../../src/upstream/azure/per-device/per-device-links.js';
import type { IncomingCommand } from '../../../../../src/upstream/upstream.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import {
  capturingLogger,
  expectNothingLostAcrossTokenRenewals,
  expectRefusedLeafDeliveredOnceKnown,
  perDeviceConfig,
  live,
  POLICY_KEY,
  reading,
  received,
  startHub,
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
): PerDeviceLinksUpstream {
  const config = perDeviceConfig('https', hub.httpsUrl!, certs, { c2dPollIntervalS: 0.1, ...overrides });
  return createPerDeviceHttpsUpstream({ config, gatewayId: 'gw-1', route: 'r', log });
}

describe('Azure HTTPS upstream, per-device identities', () => {
  let hub: AzureHubEmulator;
  let upstream: PerDeviceLinksUpstream | undefined;
  beforeEach(async () => {
    hub = await startHub(certs);
  });
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
    await hub.close();
  });

  it('posts each leaf’s readings as its own hub device, with its own or a policy token', async () => {
    upstream = upstreamFor(hub, {
      groupKey: undefined,
      sharedAccessKey: POLICY_KEY,
      sharedAccessKeyName: 'device',
    });
    await upstream.connect(live());
    const batch = [
      reading(1, 'sim:thermo-01'),
      reading(2, 'sim:switch-01'),
      reading(3, 'sim:thermo-01'),
      reading(4, 'ble aa bb'),
    ];
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual({ 'sim:thermo-01': [1, 3], 'sim:switch-01': [2], ble_aa_bb: [4] });
    expect(upstream.stats()).toMatchObject({ readings: 4, heldLeaves: [] });
  });

  it('signs with a key derived from the group key', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    expect(await upstream.send([reading(1, 'sim:switch-01')], live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual({ 'sim:switch-01': [1] });
  });

  it('keeps the readings of a leaf without identity queued, warns once, and lets the others through', async () => {
    const { log, warnings } = capturingLogger();
    upstream = upstreamFor(hub, { groupKey: undefined }, log);
    await upstream.connect(live());
    const first = await upstream.send([reading(1, 'sim:switch-01'), reading(2, 'sim:thermo-01')], live());
    expect(first).toEqual({ kind: 'partial', acked: [2], rejected: [] });
    const second = await upstream.send([reading(1, 'sim:switch-01')], live());
    expect(second).toMatchObject({
      kind: 'retry',
      reason: expect.stringContaining('sim:switch-01') as string,
    });
    expect(received(hub)).toEqual({ 'sim:thermo-01': [2] });
    expect(warnings().filter((w) => w.leaf === 'sim:switch-01')).toHaveLength(1);
  });

  it('holds a leaf the hub refuses (401), and delivers its readings once the hub knows the device', async () => {
    upstream = upstreamFor(hub, { refusedRetryS: 0.2 });
    await upstream.connect(live());
    await expectRefusedLeafDeliveredOnceKnown(hub, upstream);
  });

  it('signs each device’s requests anew before its token runs out, losing nothing', async () => {
    // The hub answers 401 to a request whose 3 s token has run out.
    upstream = upstreamFor(hub, { tokenTtlS: 3, tokenRenewBeforeS: 2 });
    await upstream.connect(live());
    await expectNothingLostAcrossTokenRenewals(hub, upstream);
  });

  it('polls each leaf’s C2D queue: a message to its hub device is a command for it, settled by the result', async () => {
    upstream = upstreamFor(hub);
    const commands: IncomingCommand[] = [];
    upstream.onCommand((c) => commands.push(c));
    await upstream.connect(live());
    // `sim:switch-01` is not configured: it is polled once it has sent something.
    expect(await upstream.send([reading(1, 'sim:switch-01')], live())).toEqual({ kind: 'ok' });
    hub.sendC2d('sim:thermo-01', { messageId: 'c-1', ack: 'full', body: JSON.stringify({ name: 'on' }) });
    hub.sendC2d('sim:switch-01', { messageId: 'c-2', ack: 'full', body: JSON.stringify({ name: 'off' }) });
    await waitFor(() => commands.length === 2, 'both commands');
    const byId = commands
      .map((c) => (c.kind === 'command' ? `${c.command.id}→${c.command.device}` : c.reason))
      .sort();
    expect(byId).toEqual(['c-1→sim:thermo-01', 'c-2→sim:switch-01']);
    await upstream.publishResult({ id: 'c-1', device: 'sim:thermo-01' }, { id: 'c-1', status: 'ok' });
    await upstream.publishResult({ id: 'c-2', device: 'sim:switch-01' }, { id: 'c-2', status: 'rejected' });
    await waitFor(() => hub.feedback().length === 2, 'the hub feedback');
    expect(hub.feedback()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          originalMessageId: 'c-1',
          statusCode: 'Success',
          deviceId: 'sim:thermo-01',
        }),
        expect.objectContaining({
          originalMessageId: 'c-2',
          statusCode: 'Rejected',
          deviceId: 'sim:switch-01',
        }),
      ]),
    );
    const results = hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'commandResult');
    expect(results.map((m) => m.deviceId).sort()).toEqual(['sim:switch-01', 'sim:thermo-01']);
  });
});
