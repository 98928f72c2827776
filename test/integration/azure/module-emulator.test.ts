import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ModuleClient, Message } from 'azure-iot-device';
import { Amqp } from 'azure-iot-device-amqp';
import { Mqtt } from 'azure-iot-device-mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

const HOST = 'module-hub.azure-devices.net';
const DEVICE_KEY = Buffer.from('edge-device-key-for-tests-000001').toString('base64');
const MODULE_KEY = Buffer.from('edge-module-key-for-tests-000001').toString('base64');
const POLICY_KEY = Buffer.from('service-policy-key-for-tests-002').toString('base64');
const SERVICE_APP = fileURLToPath(new URL('../../fixtures/azure/service-app.mjs', import.meta.url));

/**
 * Module identities (`{device}/{module}`) on the IoT Hub emulator, checked from both ends: Microsoft's
 * `ModuleClient` (azure-iot-device) and the fieldgate daemon with `moduleId` connect with the module's own
 * key, send telemetry the hub records with `iothub-connection-module-id`, and answer direct methods sent to
 * the module; the module twin is the module's, not the device's.
 */
const transports = { mqtt: Mqtt, amqp: Amqp } as const;
const protocols = (process.env.FG_MODULE_PROTOCOLS ?? 'mqtt,amqp').split(',') as (keyof typeof transports)[];

describe('module identities on the IoT Hub emulator', () => {
  let certs: TestCertificates;
  let hub: AzureHubEmulator;

  beforeAll(async () => {
    certs = await makeTestCertificates([HOST]);
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({
        hostName: HOST,
        devices: {
          'edge-gw': { primaryKey: DEVICE_KEY },
          'edge-gw/sdk-mqtt': { primaryKey: MODULE_KEY },
          'edge-gw/sdk-amqp': { primaryKey: MODULE_KEY },
          'edge-gw/fieldgate-mqtt': { primaryKey: MODULE_KEY },
          'edge-gw/fieldgate-amqp': { primaryKey: MODULE_KEY },
        },
        policies: {
          iothubowner: { key: POLICY_KEY, permissions: ['ServiceConnect', 'RegistryRead', 'RegistryWrite'] },
        },
      }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      servicePort: 0,
      tls: certs.server,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    await hub?.close();
    await certs?.cleanup();
  });

  /** Run one operation of the service app (azure-iothub in its own process); its JSON answer. */
  const service = async <T>(operation: string, args: unknown): Promise<T> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [SERVICE_APP, operation, JSON.stringify(args)],
      {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: certs.server.certFile,
          FG_SERVICE_CONNECTION_STRING: hub.serviceConnectionString('iothubowner'),
        },
        timeout: 90_000,
      },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
  };
  const portOf = (protocol: keyof typeof transports): number =>
    Number(new URL(protocol === 'mqtt' ? hub.url : hub.amqpUrl!).port);
  const moduleClient = async (protocol: keyof typeof transports, moduleId: string, key: string) => {
    const client = ModuleClient.fromConnectionString(
      `HostName=${HOST};GatewayHostName=127.0.0.1:${portOf(protocol)};DeviceId=edge-gw;ModuleId=${moduleId};SharedAccessKey=${key}`,
      transports[protocol],
    );
    await client.setOptions({ ca: certs.server.cert.toString('utf8') });
    return client;
  };

  for (const protocol of protocols) {
    it(`takes Microsoft’s ModuleClient over ${protocol}: telemetry stamped with the module, its method and its twin`, async () => {
      const moduleId = `sdk-${protocol}`;
      const client = await moduleClient(protocol, moduleId, MODULE_KEY);
      try {
        await client.open();
        client.onMethod('ping', (request, response) => {
          void response!.send(200, { pong: request!.payload as unknown });
        });
        await client.sendEvent(new Message(JSON.stringify({ n: 1 })));
        const record = hub.d2c.find((m) => m.systemProperties['iothub-connection-module-id'] === moduleId);
        expect(record).toMatchObject({
          deviceId: 'edge-gw',
          moduleId,
          systemProperties: { 'iothub-connection-device-id': 'edge-gw' },
        });
        expect(JSON.parse(record!.body.toString())).toEqual({ n: 1 });

        const twin = await client.getTwin();
        // The SDK types `reported` loosely; `update(patch, callback)` is its documented call.
        const reported = twin.properties.reported as {
          update: (patch: object, done: (error?: Error) => void) => void;
        };
        await new Promise<void>((resolve, reject) =>
          reported.update({ build: 7 }, (e) => (e ? reject(e) : resolve())),
        );
        expect(hub.twin(`edge-gw/${moduleId}`).reported).toMatchObject({ build: 7 });
        expect(hub.twin('edge-gw').reported).not.toHaveProperty('build');

        await waitFor(() => hub.isConnected(`edge-gw/${moduleId}`), 'the module online');
        const reply = await hub.invokeMethod(`edge-gw/${moduleId}`, 'ping', 'x', 10_000);
        expect(reply).toMatchObject({ status: 200, payload: { pong: 'x' } });

        // The service end is Microsoft's too: azure-iothub calls the module's method and reads its twin.
        const called = await service<{ result?: unknown }>('method', {
          deviceId: 'edge-gw',
          moduleId,
          methodName: 'ping',
          payload: 'svc',
          responseTimeoutInSeconds: 10,
        });
        expect(called).toEqual({ result: { status: 200, payload: { pong: 'svc' } } });
        const moduleTwin = await service<{ deviceId: string; moduleId: string; reported: unknown }>(
          'twinGet',
          { deviceId: 'edge-gw', moduleId },
        );
        expect(moduleTwin).toMatchObject({ deviceId: 'edge-gw', moduleId, reported: { build: 7 } });
      } finally {
        await client.close();
      }
    });

    it(`refuses a module over ${protocol} that signs with its device’s key`, async () => {
      const client = await moduleClient(protocol, `sdk-${protocol}`, DEVICE_KEY);
      await expect(client.open()).rejects.toThrow();
      await client.close().catch(() => undefined);
    });

    it(`carries the fieldgate daemon with moduleId over ${protocol}: readings as the module, a method to the module reaches a leaf`, async () => {
      const moduleId = `fieldgate-${protocol}`;
      const work = await makeWorkdir();
      let daemon: Daemon | undefined;
      try {
        daemon = await Daemon.start(
          work.dir,
          testConfig(work.dir, 0, {
            routes: {
              azure: {
                upstream: {
                  type: 'azure',
                  protocol,
                  hostName: HOST,
                  deviceId: 'edge-gw',
                  moduleId,
                  sharedAccessKey: MODULE_KEY,
                  endpoint: protocol === 'mqtt' ? hub.url : hub.amqpUrl,
                  tls: { caFile: certs.server.certFile },
                },
                batch: { maxItems: 50 },
                backoff: { initialMs: 100, maxMs: 500 },
              },
            },
          }),
        );
        await waitFor(
          () =>
            hub.d2c.some((m) => m.moduleId === moduleId && m.properties['fieldgate-type'] === 'telemetry'),
          'readings sent as the module',
        );
        const readings = hub.d2c.find((m) => m.moduleId === moduleId)!;
        expect(readings.systemProperties).toMatchObject({
          'iothub-connection-device-id': 'edge-gw',
          'iothub-connection-module-id': moduleId,
        });
        const call = await hub.invokeMethod(`edge-gw/${moduleId}`, 'on', { device: 'sim:switch-01' }, 20_000);
        expect(call).toMatchObject({ status: 200, payload: { device: 'sim:switch-01', status: 'ok' } });
      } finally {
        await daemon?.stop();
        await work.cleanup();
      }
    });
  }
});
