import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator, HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { AzureHttpsUpstream } from '../../../../src/upstream/azure/https/azure-https-upstream.js';
import { AzureMqttUpstream } from '../../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import type { GatewayStatus, IncomingCommand, Upstream } from '../../../../src/upstream/upstream.js';
import { waitFor } from '../../../fakes/wait-for.js';
import { envelope } from './gateway-fixtures.js';

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

type Metered = Upstream & { stats(): { billedUnits: number; operations?: Record<string, number> } };

for (const protocol of ['mqtt', 'amqp', 'https'] as const) {
  // HTTPS carries no twin and no direct methods.
  const hasTwinAndMethods = protocol !== 'https';

  describe(`the Azure ${protocol} connector’s meter`, () => {
    let hub: AzureHubEmulator;
    let upstream: Metered;

    beforeEach(async () => {
      hub = await AzureHubEmulator.start({
        registry: new HubRegistry({ hostName: HOST, devices: { 'gw-1': { primaryKey: KEY } } }),
        host: '127.0.0.1',
        port: 0,
        amqpPort: 0,
        httpsPort: 0,
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
          protocol,
          hostName: HOST,
          deviceId: 'gw-1',
          sharedAccessKey: KEY,
          endpoint: { mqtt: hub.url, amqp: hub.amqpUrl, https: hub.httpsUrl }[protocol],
          ackTimeoutMs: 5000,
          ...(protocol === 'https' ? { c2dPollIntervalS: 0.2 } : {}),
        }),
        ...(hasTwinAndMethods ? { twin: { enabled: true, reportIntervalS: 3600 } } : {}),
      };
      const options = {
        config,
        gatewayId: 'gw-1',
        route: 'cloud',
        log: silentLogger(),
        status: () => status as never,
      };
      upstream =
        protocol === 'mqtt'
          ? new AzureMqttUpstream(options)
          : protocol === 'amqp'
            ? new AzureAmqpUpstream(options)
            : new AzureHttpsUpstream(options);
      upstream.onCommand((command: IncomingCommand) => {
        if (command.kind !== 'command') return;
        const { id, device } = command.command;
        void upstream.publishResult({ id, device }, { id, status: 'ok', data: { echo: 'x'.repeat(5000) } });
      });
      await upstream.connect(live());
      if (hasTwinAndMethods) {
        await waitFor(() => hub.twin('gw-1').reported.fieldgate !== undefined, 'the twin report');
      }
      expect(await upstream.send([envelope(1), envelope(2)], live())).toEqual({ kind: 'ok' });
      hub.sendC2d('gw-1', {
        body: JSON.stringify({ device: 'leaf-1', name: 'set', args: { on: true }, pad: 'p'.repeat(5000) }),
        ack: 'full',
      });
      await waitFor(() => hub.feedback().length === 1, 'the C2D message settled');
      // The command's result goes up as a D2C message of its own.
      await waitFor(() => hub.counters().messages === 2, 'the result message');
      if (hasTwinAndMethods) {
        const reply = await hub.invokeMethod(
          'gw-1',
          'set',
          { device: 'leaf-1', args: { on: false } },
          10_000,
        );
        expect(reply.status).toBe(200);
      }

      // The client counts a message once it has the hub's answer, which comes after the hub recorded it
      // (over HTTPS the result's response can still be on its way here).
      await waitFor(() => upstream.stats().operations?.d2c === 2, 'the client to count the result');
      const stats = upstream.stats();
      const hubCounters = hub.counters();
      expect(stats.operations).toEqual(
        hasTwinAndMethods
          ? { d2c: 2, c2d: 1, twinRead: 1, twinUpdate: 1, method: 1 }
          : { d2c: 2, c2d: 1, twinRead: 0, twinUpdate: 0, method: 0 },
      );
      expect(hubCounters.operations).toEqual(
        hasTwinAndMethods
          ? { c2d: 1, twinRead: 1, twinUpdate: 1, method: 1 }
          : { c2d: 1, twinRead: 0, twinUpdate: 0, method: 0 },
      );
      // The ~5 KB C2D message and result are 2 units each.
      expect(stats.billedUnits).toBe(hubCounters.billedUnits + hubCounters.operationUnits);
      expect(stats.billedUnits).toBeGreaterThanOrEqual(1 + 2 + 2);
    });
  });
}
