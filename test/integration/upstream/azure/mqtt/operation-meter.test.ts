import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator, HubRegistry } from '../../../../../emulators/azure/index.js';
import type { GatewayStatus } from '../../../../../src/upstream/upstream.js';
import { silentLogger } from '../../../../../src/logger.js';
import { AzureMqttUpstream } from '../../../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import type { IncomingCommand } from '../../../../../src/upstream/upstream.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import { envelope } from '../gateway-fixtures.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');
const live = (): AbortSignal => new AbortController().signal;

const status: GatewayStatus = {
  version: '9.9.9',
  uptimeS: 10,
  healthy: true,
  problems: [],
  adapters: [],
  routes: [],
};

describe('the Azure MQTT connector’s meter', () => {
  let hub: AzureHubEmulator;
  let upstream: AzureMqttUpstream;

  beforeEach(async () => {
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'gw-1': { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
    });
  });
  afterEach(async () => {
    await upstream.close();
    await hub.close();
  });

  it('counts D2C, C2D, twin and method operations in the 4 KB units the hub bills, as the hub meters them', async () => {
    const config = {
      ...azureUpstreamSchema.parse({
        type: 'azure',
        protocol: 'mqtt',
        hostName: HOST,
        deviceId: 'gw-1',
        sharedAccessKey: KEY,
        endpoint: hub.url,
        ackTimeoutMs: 5000,
      }),
      twin: { enabled: true, reportIntervalS: 3600 },
    };
    upstream = new AzureMqttUpstream({
      config,
      gatewayId: 'gw-1',
      route: 'cloud',
      log: silentLogger(),
      status: () => status,
    });
    upstream.onCommand((command: IncomingCommand) => {
      if (command.kind !== 'command') return;
      const { id, device } = command.command;
      void upstream.publishResult({ id, device }, { id, status: 'ok', data: { echo: 'x'.repeat(5000) } });
    });
    await upstream.connect(live());
    await waitFor(() => hub.twin('gw-1').reported.fieldgate !== undefined, 'the twin report');
    expect(await upstream.send([envelope(1), envelope(2)], live())).toEqual({ kind: 'ok' });
    hub.sendC2d('gw-1', {
      body: JSON.stringify({ device: 'leaf-1', name: 'set', args: { on: true }, pad: 'p'.repeat(5000) }),
      ack: 'full',
    });
    await waitFor(() => hub.counters().operations.c2d === 1, 'the C2D message completed');
    const reply = await hub.invokeMethod('gw-1', 'set', { device: 'leaf-1', args: { on: false } }, 10_000);
    expect(reply.status).toBe(200);

    const stats = upstream.stats();
    const hubCounters = hub.counters();
    // The C2D command's result goes up as a D2C message of its own.
    expect(stats.operations).toEqual({ d2c: 2, c2d: 1, twinRead: 1, twinUpdate: 1, method: 1 });
    expect(hubCounters.operations).toEqual({ c2d: 1, twinRead: 1, twinUpdate: 1, method: 1 });
    // C2D of ~5 KB: 2 units; the method: a small request (1) and a ~5 KB response (2).
    expect(stats.billedUnits).toBe(hubCounters.billedUnits + hubCounters.operationUnits);
    expect(stats.billedUnits).toBeGreaterThanOrEqual(1 + 2 + 1 + 1 + 1 + 2);
  });
});
