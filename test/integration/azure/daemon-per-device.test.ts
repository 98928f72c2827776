import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../emulators/azure/index.js';
import { HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

const HOST = 'it-hub.azure-devices.net';
const POLICY_KEY = Buffer.from('integration-policy-key-000000001').toString('base64');
const DEVICE_KEY = Buffer.from('integration-device-key-000000002').toString('base64');
/** Registered in the hub from the start; `sim:sleepy-01` is not, until the test registers it. */
const REGISTERED = ['sim:climate-01', 'sim:climate-02', 'sim:climate-03', 'sim:switch-01'];

/**
 * The real daemon and its sim fleet with `identity: perDevice`, once per protocol: every leaf is its own
 * hub device (over AMQP on one connection, over MQTT on one each, over HTTPS with its own token per
 * request), covered by a DeviceConnect policy (one leaf with a key of its own).
 */
describe.each(['amqp', 'mqtt', 'https'] as const)(
  'the daemon against the Azure IoT Hub emulator (%s, perDevice identities)',
  (protocol) => {
    let work: Awaited<ReturnType<typeof makeWorkdir>>;
    let certs: TestCertificates;
    let daemon: Daemon;
    let hub: AzureHubEmulator;

    /** Hub device id → the leaves named in the readings the hub received under it. */
    const devicesByIdentity = (): Map<string, Set<string>> => {
      const map = new Map<string, Set<string>>();
      for (const m of hub.d2c.filter((d) => d.properties['fieldgate-type'] === 'telemetry')) {
        const readings = (JSON.parse(m.body.toString()) as { readings: { device: string }[] }).readings;
        const leaves = map.get(m.deviceId) ?? new Set<string>();
        for (const r of readings) leaves.add(r.device);
        map.set(m.deviceId, leaves);
      }
      return map;
    };
    const warningsFor = (leaf: string): number =>
      daemon.output.split('\n').filter((l) => l.includes('"level":40') && l.includes(`"leaf":"${leaf}"`))
        .length;

    beforeAll(async () => {
      work = await makeWorkdir();
      certs = await makeTestCertificates();
      const registry = new HubRegistry({
        hostName: HOST,
        devices: Object.fromEntries(REGISTERED.map((id) => [id, { primaryKey: DEVICE_KEY }])),
        policies: { device: { key: POLICY_KEY, permissions: ['DeviceConnect'] } },
      });
      hub = await AzureHubEmulator.start({
        registry,
        host: '127.0.0.1',
        port: 0,
        amqpPort: 0,
        httpsPort: 0,
        tls: certs.server,
        log: silentLogger(),
      });
      daemon = await Daemon.start(
        work.dir,
        testConfig(work.dir, 0, {
          routes: {
            azure: {
              upstream: {
                type: 'azure',
                protocol,
                identity: 'perDevice',
                hostName: HOST,
                sharedAccessKey: POLICY_KEY,
                sharedAccessKeyName: 'device',
                leaves: { 'sim:switch-01': { sharedAccessKey: DEVICE_KEY } },
                refusedRetryS: 0.5,
                endpoint: { amqp: hub.amqpUrl, mqtt: hub.url, https: hub.httpsUrl }[protocol],
                tls: { caFile: certs.server.certFile },
                ackTimeoutMs: 2000,
                c2dPollIntervalS: 0.2,
              },
              batch: { maxItems: 200 },
              backoff: { initialMs: 100, maxMs: 500 },
            },
          },
        }),
      );
    });
    afterAll(async () => {
      await daemon?.stop();
      await hub?.close();
      await certs?.cleanup();
      await work?.cleanup();
    });

    it('sends each leaf under its own hub device, and keeps an unknown leaf’s readings until the hub knows it', async () => {
      await waitFor(
        () => devicesByIdentity().size >= REGISTERED.length,
        'readings from the 4 registered leaves',
      );
      for (const [identity, leaves] of devicesByIdentity()) expect([...leaves]).toEqual([identity]);
      expect(devicesByIdentity().has('sim:sleepy-01')).toBe(false);
      await waitFor(() => warningsFor('sim:sleepy-01') > 0, 'a warning about sim:sleepy-01');

      // Registering the device is all it takes: its readings, kept queued meanwhile, follow.
      hub.registry.addDevice('sim:sleepy-01', { primaryKey: DEVICE_KEY });
      await waitFor(() => devicesByIdentity().has('sim:sleepy-01'), 'sim:sleepy-01 under its own identity');
      expect(warningsFor('sim:sleepy-01')).toBe(1);
      const route = (await daemon.status()).routes.find((r) => r.name === 'azure')!;
      expect(route.queue.deadLetters).toBe(0);
    });

    it('takes a C2D message to the switch’s hub device as a command for that leaf', async () => {
      hub.sendC2d('sim:switch-01', {
        messageId: 'c2d-on',
        body: JSON.stringify({ name: 'on' }),
        ttlMs: 60_000,
        ack: 'full',
      });
      await waitFor(() => hub.feedback().length > 0, 'feedback for c2d-on');
      expect(hub.feedback()).toMatchObject([{ originalMessageId: 'c2d-on', statusCode: 'Success' }]);
      // Over MQTT the hub completes the message on PUBACK, before the command has run: wait for the result.
      await waitFor(() => hub.d2c.some((m) => m.properties['$.cid'] === 'c2d-on'), 'the result of c2d-on');
      const result = hub.d2c.find((m) => m.properties['$.cid'] === 'c2d-on')!;
      expect(result.deviceId).toBe('sim:switch-01');
      expect(JSON.parse(result.body.toString())).toMatchObject({ device: 'sim:switch-01', status: 'ok' });
    });
  },
);
