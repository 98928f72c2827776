import { describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../emulators/azure/index.js';
import { azureUpstreamSchema } from '../../../src/config/upstreams/azure.js';
import { silentLogger } from '../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../src/upstream/azure/amqp/azure-amqp-upstream.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');

describe('a direct method over AMQP that the command handler cannot take', () => {
  it('is answered 503 at once, and the connection keeps serving methods', async () => {
    const hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'gw-1': { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      log: silentLogger(),
    });
    const config = azureUpstreamSchema.parse({
      type: 'azure',
      protocol: 'amqp',
      hostName: HOST,
      deviceId: 'gw-1',
      sharedAccessKey: KEY,
      endpoint: hub.amqpUrl,
      ackTimeoutMs: 5000,
    });
    const upstream = new AzureAmqpUpstream({
      config,
      gatewayId: 'gw-1',
      route: 'cloud',
      log: silentLogger(),
    });
    let isBroken = true;
    upstream.onCommand((incoming) => {
      if (isBroken) throw new Error('the router is broken');
      if (incoming.kind === 'command')
        void upstream.publishResult(incoming.command, { id: incoming.command.id, status: 'ok' });
    });
    try {
      await upstream.connect(new AbortController().signal);
      // The method timeout is long: an answer within it is the gateway's, not the hub giving up.
      const refused = await hub.invokeMethod('gw-1', 'on', { device: 'sim:switch-01' }, 30_000);
      expect(refused.status).toBe(503);
      expect(upstream.isConnected).toBe(true);

      isBroken = false;
      const on = await hub.invokeMethod('gw-1', 'on', { device: 'sim:switch-01' }, 30_000);
      expect(on).toMatchObject({ status: 200, payload: { status: 'ok' } });
    } finally {
      await upstream.close();
      await hub.close();
    }
  }, 90_000);
});
