import { Client, type Twin } from 'azure-iot-device';
import { Amqp } from 'azure-iot-device-amqp';
import { Mqtt } from 'azure-iot-device-mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../emulators/azure/index.js';
import { HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { waitFor } from '../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

const HOST = 'sdk-twin-hub.azure-devices.net';
const KEY = Buffer.from('official-sdk-twin-device-key-001').toString('base64');

/**
 * The official device SDK's twin API, unchanged, against the emulator over TLS on MQTT and AMQP: it reads
 * the twin, updates reported properties, and receives desired patches pushed by the service side.
 */
describe.each([
  { name: 'mqtt', Transport: Mqtt },
  { name: 'amqp', Transport: Amqp },
])('the official SDK’s device twin over $name against the emulator', ({ name, Transport }) => {
  let certs: TestCertificates;
  let hub: AzureHubEmulator;
  let client: Client | undefined;

  beforeAll(async () => {
    certs = await makeTestCertificates([HOST]);
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'sdk-twin': { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      tls: certs.server,
      log: silentLogger(),
    });
  });
  afterEach(async () => {
    await client?.close().catch(() => undefined);
  });
  afterAll(async () => {
    await hub.close();
    await certs.cleanup();
  });

  it('reads the twin, updates reported properties and receives desired patches', async () => {
    hub.updateDesired('sdk-twin', { sampleS: 10 });
    const port = new URL(name === 'mqtt' ? hub.url : hub.amqpUrl!).port;
    client = Client.fromConnectionString(
      `HostName=${HOST};GatewayHostName=127.0.0.1:${port};DeviceId=sdk-twin;SharedAccessKey=${KEY}`,
      Transport,
    );
    await client.setOptions({ ca: certs.server.cert.toString('utf8') });
    await client.open();

    const twin: Twin = await client.getTwin();
    expect(twin.properties.desired).toMatchObject({ sampleS: 10, $version: 2 });

    // The SDK types `reported` loosely; `update(patch, callback)` is its documented call.
    const reported = twin.properties.reported as {
      update: (patch: object, done: (error?: Error) => void) => void;
    };
    await new Promise<void>((resolve, reject) =>
      reported.update({ firmware: '1.2.3' }, (error) => (error ? reject(error) : resolve())),
    );
    expect(hub.twin('sdk-twin').reported).toMatchObject({ firmware: '1.2.3' });

    const patches: Record<string, unknown>[] = [];
    twin.on('properties.desired', (patch: Record<string, unknown>) => patches.push(patch));
    // The SDK subscribes in the background after the listener is added; keep patching until one arrives.
    let sampleS = 10;
    await waitFor(() => {
      if (patches.some((p) => p.sampleS !== 10)) return true;
      hub.updateDesired('sdk-twin', { sampleS: (sampleS += 1) });
      return false;
    }, 'a desired patch at the SDK');
    const last = patches.at(-1)!;
    expect(last.sampleS).toBe(hub.twin('sdk-twin').desired.sampleS);
  });
});
