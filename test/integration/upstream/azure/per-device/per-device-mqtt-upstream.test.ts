import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import { createLogger } from '../../../../../src/logger.js';
import type { PerDeviceLinksUpstream } from '../../../../../src/upstream/azure/per-device/per-device-links.js';
import { createPerDeviceMqttUpstream } from '../../../../../src/upstream/azure/per-device/per-device-mqtt-upstream.js';
import type { IncomingCommand } from '../../../../../src/upstream/upstream.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import {
  capturingLogger,
  expectC2dCommandForConfiguredLeaf,
  expectNothingLostAcrossTokenRenewals,
  expectRefusedLeafDeliveredOnceKnown,
  perDeviceConfig,
  live,
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
): PerDeviceLinksUpstream {
  const config = perDeviceConfig('mqtt', hub.url, certs, overrides);
  return createPerDeviceMqttUpstream({ config, gatewayId: 'gw-1', route: 'r', log });
}

describe('Azure MQTT upstream, per-device identities', () => {
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

  it('sends each leaf’s readings on its own connection as its own hub device', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    const batch = [reading(1, 'sim:thermo-01'), reading(2, 'sim:switch-01'), reading(3, 'sim:thermo-01')];
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual({ 'sim:thermo-01': [1, 3], 'sim:switch-01': [2] });
    const thermo = telemetry(hub).find((m) => m.deviceId === 'sim:thermo-01')!;
    expect(thermo.properties).toMatchObject({ 'fieldgate-device': 'sim:thermo-01' });
    expect(upstream.stats()).toMatchObject({ readings: 3, heldLeaves: [], openLinks: 2 });
  });

  it('signs for each leaf with a DeviceConnect policy', async () => {
    upstream = upstreamFor(hub, {
      leaves: {},
      groupKey: undefined,
      sharedAccessKey: POLICY_KEY,
      sharedAccessKeyName: 'device',
    });
    await upstream.connect(live());
    const batch = [reading(1, 'sim:thermo-01'), reading(2, 'ble aa bb')];
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual({ 'sim:thermo-01': [1], ble_aa_bb: [2] });
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
    expect(upstream.stats().heldLeaves).toMatchObject([{ leaf: 'sim:switch-01' }]);
    expect(upstream.isConnected).toBe(true);
  });

  it('holds a leaf the hub refuses, and delivers its readings once the hub knows the device', async () => {
    upstream = upstreamFor(hub, { refusedRetryS: 0.2 });
    await upstream.connect(live());
    await expectRefusedLeafDeliveredOnceKnown(hub, upstream);
  });

  it('renews each leaf’s token by reconnecting its connection, losing nothing', async () => {
    // The hub drops a connection when its 3 s token runs out; without renewal a send would fail.
    upstream = upstreamFor(hub, { tokenTtlS: 3, tokenRenewBeforeS: 2 });
    await upstream.connect(live());
    await expectNothingLostAcrossTokenRenewals(hub, upstream);
  });

  it('takes a C2D message to a leaf’s hub device as a command for that leaf, and answers on its connection', async () => {
    upstream = upstreamFor(hub);
    const commands = await expectC2dCommandForConfiguredLeaf(hub, upstream);
    // A body naming another device is not run against it.
    hub.sendC2d('sim:thermo-01', {
      messageId: 'c-2',
      body: JSON.stringify({ name: 'on', device: 'sim:switch-01' }),
    });
    await waitFor(() => commands.length === 2, 'the second command');
    expect(commands[1]).toMatchObject({ kind: 'invalid', id: 'c-2', device: 'sim:thermo-01' });
    await upstream.publishResult({ id: 'c-1', device: 'sim:thermo-01' }, { id: 'c-1', status: 'ok' });
    await waitFor(() => hub.d2c.some((m) => m.properties['fieldgate-type'] === 'commandResult'), 'result');
    const result = hub.d2c.find((m) => m.properties['fieldgate-type'] === 'commandResult')!;
    expect(result.deviceId).toBe('sim:thermo-01');
  });

  it('reconnects each leaf after the hub dropped them all', async () => {
    upstream = upstreamFor(hub);
    await upstream.connect(live());
    expect(await upstream.send([reading(1, 'sim:switch-01')], live())).toEqual({ kind: 'ok' });
    hub.disconnectAll();
    await waitFor(() => upstream!.stats().openLinks === 0, 'the leaf connections dropped');
    const batch = [reading(2, 'sim:switch-01'), reading(3, 'sim:thermo-01')];
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual({ 'sim:switch-01': [1, 2], 'sim:thermo-01': [3] });
  });

  it('reports the hub unreachable: a failed connect, and a send that turns isConnected off', async () => {
    const url = hub.url;
    await hub.close();
    // With a configured leaf, connect probes it.
    upstream = upstreamFor(hub, { endpoint: url });
    await expect(upstream.connect(live())).rejects.toMatchObject({ code: 'FG_UPSTREAM_OFFLINE' });
    await upstream.close();
    // Without one there is nothing to probe until a leaf has readings; then the forwarder must back off.
    upstream = upstreamFor(hub, { endpoint: url, leaves: {} });
    await upstream.connect(live());
    const result = await upstream.send([reading(1, 'sim:switch-01')], live());
    expect(result).toMatchObject({ kind: 'retry' });
    expect(upstream.isConnected).toBe(false);
    await expect(upstream.connect(live())).rejects.toMatchObject({ code: 'FG_UPSTREAM_OFFLINE' });
    hub = await startHub(certs);
  });

  it('closes every leaf connection on close, and opens none for a result that comes later', async () => {
    upstream = upstreamFor(hub);
    const commands: IncomingCommand[] = [];
    upstream.onCommand((c) => commands.push(c));
    await upstream.connect(live());
    expect(await upstream.send([reading(1, 'sim:switch-01')], live())).toEqual({ kind: 'ok' });
    hub.sendC2d('sim:switch-01', { messageId: 'c-1', body: JSON.stringify({ name: 'on' }) });
    await waitFor(() => commands.length === 1, 'the command');
    await upstream.close();
    await waitFor(() => !hub.isConnected('sim:thermo-01') && !hub.isConnected('sim:switch-01'), 'closed');
    // The command finishes while the daemon stops: its result must not reopen the leaf's connection.
    await upstream.publishResult({ id: 'c-1', device: 'sim:switch-01' }, { id: 'c-1', status: 'ok' });
    expect(hub.isConnected('sim:switch-01')).toBe(false);
    expect(upstream.stats().openLinks).toBe(0);
  });

  it('keeps at most maxLeafConnections open, warning once, and still sends for every leaf', async () => {
    const { log, warnings } = capturingLogger();
    upstream = upstreamFor(hub, { maxLeafConnections: 1 }, log);
    await upstream.connect(live());
    for (let round = 0; round < 2; round += 1) {
      const batch = [reading(10 + round, 'sim:thermo-01'), reading(20 + round, 'sim:switch-01')];
      expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
      expect(upstream.stats().openLinks).toBe(1);
    }
    // The least recently used leaf's connection was closed to make room for the other.
    await waitFor(() => !hub.isConnected('sim:thermo-01'), 'the thermometer’s connection closed');
    expect(hub.isConnected('sim:switch-01')).toBe(true);
    expect(received(hub)).toEqual({ 'sim:thermo-01': [10, 11], 'sim:switch-01': [20, 21] });
    expect(upstream.stats().readings).toBe(4);
    expect(warnings().filter((w) => w.msg.includes('maxLeafConnections'))).toHaveLength(1);
  });
});
