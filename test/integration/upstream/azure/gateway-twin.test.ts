import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../../src/config/upstreams/azure.js';
import { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import type { StatusSnapshot } from '../../../../src/health/status.js';
import { silentLogger } from '../../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { AzureMqttUpstream } from '../../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import { mergePatch } from '../../../../src/upstream/azure/gateway-twin.js';
import type { IncomingCommand, Upstream } from '../../../../src/upstream/upstream.js';
import { waitFor } from '../../../fakes/wait-for.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');
const live = (): AbortSignal => new AbortController().signal;

/** A status as the runtime builds it, with the parts the twin reports. */
function statusFixture(): StatusSnapshot {
  return {
    gateway: 'gw-1',
    version: '9.9.9',
    uptimeS: 10,
    healthy: true,
    problems: [],
    adapters: [{ name: 'zigbee', type: 'zigbee', state: 'running', since: 0, readings: 0 }],
    routes: [
      {
        name: 'cloud',
        forwarder: {
          route: 'cloud',
          state: 'idle',
          sentMessages: 0,
          sentReadings: 0,
          failures: 0,
          rejected: 0,
        },
        queue: {
          depth: 3,
          bytes: 300,
          inFlight: 0,
          oldestAgeMs: 0,
          dropped: { quota: 0, diskFull: 0, ttl: 0, rejected: 0, writeFailed: 0 },
          deadLetters: 0,
          appended: 3,
          acked: 0,
          nextSeq: 4,
        },
        drainEtaS: null,
      },
    ],
    storage: { bytes: 0, quarantine: null, writes: { state: 'ok' } },
    devices: { online: 1, offline: 0, asleep: 0, unknown: 0 },
    commands: null,
    pipeline: null,
    reload: null,
    restartRequired: [],
  };
}

for (const protocol of ['mqtt', 'amqp'] as const) {
  describe(`the gateway twin over ${protocol}`, () => {
    let hub: AzureHubEmulator;
    let upstream: Upstream;
    let status: StatusSnapshot;
    /** How often the twin asked for the status: once per report check. */
    let statusReads = 0;

    beforeEach(async () => {
      hub = await AzureHubEmulator.start({
        registry: new HubRegistry({ hostName: HOST, devices: { 'gw-1': { primaryKey: KEY } } }),
        host: '127.0.0.1',
        port: 0,
        amqpPort: 0,
        log: silentLogger(),
      });
      status = statusFixture();
      statusReads = 0;
    });
    afterEach(async () => {
      await upstream.close();
      await hub.close();
    });

    function connectUpstream(reportIntervalS: number): Promise<void> {
      const config = {
        ...azureUpstreamSchema.parse({
          type: 'azure',
          protocol,
          hostName: HOST,
          deviceId: 'gw-1',
          sharedAccessKey: KEY,
          endpoint: protocol === 'mqtt' ? hub.url : hub.amqpUrl,
          ackTimeoutMs: 5000,
        }),
        // Below the schema's minimum, so the test need not wait ten seconds for a second report.
        twin: { enabled: true, reportIntervalS },
      };
      const options = {
        config,
        gatewayId: 'gw-1',
        route: 'cloud',
        log: silentLogger(),
        status: () => {
          statusReads += 1;
          return status;
        },
      };
      upstream = protocol === 'mqtt' ? new AzureMqttUpstream(options) : new AzureAmqpUpstream(options);
      return upstream.connect(live());
    }
    const reported = () => hub.twin('gw-1').reported.fieldgate as Record<string, unknown> | undefined;

    it('reports the gateway status after connecting, and again only when more than the uptime changed', async () => {
      await connectUpstream(0.2);
      await waitFor(() => reported() !== undefined, 'the first report');
      expect(reported()).toMatchObject({
        version: '9.9.9',
        uptimeS: 10,
        healthy: true,
        problems: [],
        adapters: { zigbee: 'running' },
        routes: { cloud: { state: 'idle', queueDepth: 3, sentReadings: 0 } },
        desired: { version: 1, applied: [], ignored: [] },
      });
      const firstVersion = hub.twin('gw-1').reported.$version;

      status = { ...statusFixture(), uptimeS: 20 };
      // Three report checks see only the uptime move: not worth a twin update.
      const checked = statusReads + 3;
      await waitFor(() => statusReads >= checked, 'three report checks');
      expect(hub.twin('gw-1').reported.$version).toBe(firstVersion);

      status = {
        ...statusFixture(),
        uptimeS: 30,
        healthy: false,
        problems: ['adapter zigbee is unavailable'],
        adapters: [{ name: 'zigbee', type: 'zigbee', state: 'unavailable', since: 0, readings: 0 }],
      };
      await waitFor(() => reported()?.healthy === false, 'the changed status');
      expect(reported()).toMatchObject({
        uptimeS: 30,
        problems: ['adapter zigbee is unavailable'],
        adapters: { zigbee: 'unavailable' },
      });
    });

    it('takes desired properties from the twin and from pushed patches, and acknowledges each version', async () => {
      hub.updateDesired('gw-1', { logLevel: 'debug' });
      await connectUpstream(60);
      await waitFor(() => reported() !== undefined, 'the first report');
      expect(reported()!.desired).toEqual({ version: 2, applied: [], ignored: ['logLevel'] });

      hub.updateDesired('gw-1', { batchMaxItems: 100 });
      await waitFor(
        () => (reported()?.desired as { version: number }).version === 3,
        'the acknowledgement of version 3',
      );
      expect(reported()!.desired).toEqual({ version: 3, applied: [], ignored: ['batchMaxItems'] });
    });

    it('reads the twin again after a reconnect and catches up with what changed meanwhile', async () => {
      await connectUpstream(60);
      await waitFor(() => reported() !== undefined, 'the first report');
      hub.disconnectAll();
      await waitFor(() => !upstream.isConnected, 'the disconnect');
      hub.updateDesired('gw-1', { mode: 'eco' }); // nobody listening: only the GET after reconnecting sees it
      await upstream.connect(live());
      await waitFor(
        () => (reported()?.desired as { version: number }).version === 2,
        'the acknowledgement after reconnecting',
      );
    });
  });
}

describe('direct methods over AMQP', () => {
  it('become commands, and the result comes back as the method’s status and payload', async () => {
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
    const received: IncomingCommand[] = [];
    // Like the sim switch behind the command router: `on` works, anything else is unsupported.
    upstream.onCommand((incoming) => {
      received.push(incoming);
      if (incoming.kind !== 'command') {
        void upstream.publishResult(
          { id: incoming.id },
          { id: incoming.id, status: 'rejected', detail: incoming.reason },
        );
        return;
      }
      const { command } = incoming;
      const ok = command.name === 'on';
      void upstream.publishResult(command, {
        id: command.id,
        status: ok ? 'ok' : 'unsupported',
        ...(ok ? { data: { state: 'on' } } : { detail: `no command ${command.name}` }),
      });
    });
    try {
      await upstream.connect(live());
      const on = await hub.invokeMethod('gw-1', 'on', { device: 'sim:switch-01' }, 10_000);
      expect(on.status).toBe(200);
      expect(on.payload).toMatchObject({ device: 'sim:switch-01', status: 'ok', data: { state: 'on' } });
      expect(received[0]).toMatchObject({
        kind: 'command',
        command: { name: 'on', device: 'sim:switch-01', route: 'cloud' },
      });

      const blink = await hub.invokeMethod('gw-1', 'blink', { device: 'sim:switch-01' }, 10_000);
      expect(blink).toMatchObject({ status: 501, payload: { status: 'unsupported' } });
      const bad = await hub.invokeMethod('gw-1', 'on', { args: {} }, 10_000);
      expect(bad).toMatchObject({ status: 400, payload: { status: 'rejected' } });
      // A method answer is not also sent up as a commandResult message.
      expect(hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'commandResult')).toEqual([]);
    } finally {
      await upstream.close();
      await hub.close();
    }
  });
});

describe('mergePatch', () => {
  it('sends only what changed, with null for removed keys, nested key by key', () => {
    expect(mergePatch({ a: 1, b: { c: 1, d: 2 }, e: [1] }, { a: 1, b: { c: 2 }, e: [1] })).toEqual({
      b: { c: 2, d: null },
    });
    expect(mergePatch({ a: 1, gone: true }, { a: 1 })).toEqual({ gone: null });
    expect(mergePatch({ a: { b: 1 } }, { a: { b: 1 } })).toBeUndefined();
  });
});
