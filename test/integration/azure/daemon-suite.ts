import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../emulators/azure/index.js';
import { HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';
import { missing } from '../support/subscriber.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

const HOST = 'it-hub.azure-devices.net';
const KEY = Buffer.from('integration-test-key-0000000001').toString('base64');

interface HubReading {
  gseq: number;
  device: string;
  seq?: number;
  values: Record<string, unknown>;
  /** The identity the hub stamped on the message that carried this reading. */
  connectionDeviceId: string;
  properties: Record<string, string | null>;
}

/**
 * The real daemon, its sim fleet and one `type: azure` route to the IoT Hub emulator over TLS, with SAS
 * auth as the gateway's own device `it`, over one protocol (one test file each, so they run in parallel). Every hub the test starts (the outage
 * restarts it) is kept so the readings of all of them can be checked together.
 */
export function describeDaemonAgainstHub(protocol: 'mqtt' | 'amqp' | 'https'): void {
  describe(`the daemon against the Azure IoT Hub emulator (${protocol} over TLS)`, () => {
    let work: Awaited<ReturnType<typeof makeWorkdir>>;
    let certs: TestCertificates;
    let daemon: Daemon;
    const hubs: AzureHubEmulator[] = [];
    const hub = (): AzureHubEmulator => hubs.at(-1)!;

    const startHub = async (port: number, amqpPort: number, httpsPort: number): Promise<AzureHubEmulator> => {
      const registry = new HubRegistry({ hostName: HOST, devices: { it: { primaryKey: KEY } } });
      const started = await AzureHubEmulator.start({
        registry,
        host: '127.0.0.1',
        port,
        amqpPort,
        httpsPort,
        tls: certs.server,
        log: silentLogger(),
      });
      hubs.push(started);
      return started;
    };
    const d2c = () => hubs.flatMap((h) => h.d2c);
    const readings = (): HubReading[] =>
      d2c()
        .filter((m) => m.properties['fieldgate-type'] === 'telemetry')
        .flatMap((m) =>
          (
            JSON.parse(m.body.toString()) as { readings: Omit<HubReading, 'connectionDeviceId'>[] }
          ).readings.map((r) => ({
            ...r,
            connectionDeviceId: m.systemProperties['iothub-connection-device-id']!,
            properties: m.properties,
          })),
        );
    const results = (id: string) =>
      d2c()
        .filter((m) => m.properties['fieldgate-type'] === 'commandResult' && m.properties['$.cid'] === id)
        .map((m) => JSON.parse(m.body.toString()) as { id: string; device: string; status: string });
    const route = async () => (await daemon.status()).routes.find((r) => r.name === 'azure')!;

    beforeAll(async () => {
      work = await makeWorkdir();
      certs = await makeTestCertificates();
      const started = await startHub(0, 0, 0);
      daemon = await Daemon.start(
        work.dir,
        testConfig(work.dir, 0, {
          routes: {
            azure: {
              upstream: {
                type: 'azure',
                protocol,
                hostName: HOST,
                deviceId: 'it',
                sharedAccessKey: KEY,
                endpoint: { mqtt: started.url, amqp: started.amqpUrl, https: started.httpsUrl }[protocol],
                // HTTPS polls for C2D; the hub's advice (25 min) would outlast the test.
                c2dPollIntervalS: 0.2,
                tls: { caFile: certs.server.certFile },
                ackTimeoutMs: 2000,
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
      for (const h of hubs) await h.close();
      await certs?.cleanup();
      await work?.cleanup();
    });

    it('delivers the sim fleet’s readings, decoded, under the gateway’s identity with their properties', async () => {
      await waitFor(() => new Set(readings().map((r) => r.device)).size >= 5, 'readings from all 5 devices');
      const climate = readings().find((r) => r.device === 'sim:climate-01')!;
      expect(typeof climate.values.temperature).toBe('number');
      expect(climate.seq).toBeGreaterThanOrEqual(1);
      for (const reading of readings()) expect(reading.connectionDeviceId).toBe('it');
      const message = d2c().find((m) => m.properties['fieldgate-type'] === 'telemetry')!;
      expect(message.properties).toMatchObject({
        '$.ct': 'application/json',
        '$.ce': 'utf-8',
        'fieldgate-gateway': 'it',
      });
      expect(message.properties['$.mid']).toMatch(/^it-azure-\d+$/);
      expect(message.systemProperties['iothub-connection-auth-method']).toContain('"sas"');
      // The route's status shows what the hub billed: telemetry, plus the twin and command traffic it meters.
      const billedUnits = (await route()).forwarder.billedUnits!;
      expect(billedUnits).toBeGreaterThan(0);
      expect(billedUnits).toBeLessThanOrEqual(hub().counters().billedUnits + hub().counters().operationUnits);
    });

    it('runs a C2D command on the sim switch, completes it in the hub and sends the result back', async () => {
      hub().sendC2d('it', {
        messageId: 'c2d-on',
        body: JSON.stringify({ device: 'sim:switch-01', name: 'on' }),
        ttlMs: 60_000,
        ack: 'full',
      });
      await waitFor(() => results('c2d-on').length > 0, 'the result of c2d-on');
      expect(results('c2d-on')).toEqual([
        expect.objectContaining({ id: 'c2d-on', device: 'sim:switch-01', status: 'ok' }),
      ]);
      await waitFor(
        () => readings().some((r) => r.device === 'sim:switch-01' && r.values.state === true),
        'the switch to report on',
      );
      await waitFor(() => hub().feedback().length > 0, 'feedback for c2d-on');
      expect(hub().feedback()).toMatchObject([{ originalMessageId: 'c2d-on', statusCode: 'Success' }]);
      expect(hub().c2d.depth('it')).toBe(0);
    });

    it.skipIf(protocol === 'https')(
      'reports its own status in the twin, acknowledges desired versions and runs direct methods',
      async () => {
        const version = hub().updateDesired('it', { logLevel: 'debug' });
        const reported = () => hub().twin('it').reported.fieldgate as Record<string, unknown> | undefined;
        await waitFor(
          () => (reported()?.desired as { version?: number } | undefined)?.version === version,
          'the desired version acknowledged in the twin',
        );
        expect(reported()).toMatchObject({
          desired: { version, applied: [], ignored: ['logLevel'] },
          routes: { azure: { state: expect.any(String) as string } },
        });
        expect(Object.values(reported()!.adapters as Record<string, string>)).toContain('running');

        const call = await hub().invokeMethod('it', 'on', { device: 'sim:switch-01' }, 20_000);
        expect(call).toMatchObject({ status: 200, payload: { device: 'sim:switch-01', status: 'ok' } });
      },
    );

    it('keeps a backlog while the hub is down and drains it with nothing lost', async () => {
      const ports = [
        hub().port,
        Number(new URL(hub().amqpUrl!).port),
        Number(new URL(hub().httpsUrl!).port),
      ] as const;
      await hub().close();
      await waitFor(async () => (await route()).queue.depth > 100, 'a backlog of 100 readings');
      expect((await route()).forwarder.state).not.toBe('idle');

      await startHub(...ports);
      await waitFor(async () => (await route()).queue.depth < 20, 'the backlog to drain', 60_000);
      const lastCommitted = (await route()).queue.nextSeq - 1;
      await waitFor(
        () => readings().some((r) => r.gseq === lastCommitted),
        `gseq ${lastCommitted} to arrive`,
      );
      expect(missing(new Set(readings().map((r) => r.gseq)))).toEqual([]);
      // The hub restarted empty, so the backlog reached the new hub under the same identity.
      expect(hub().d2c.every((m) => m.deviceId === 'it')).toBe(true);
      expect(hub().d2c.length).toBeGreaterThan(0);
    });
  });
}
