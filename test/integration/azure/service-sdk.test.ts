import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

const HOST = 'svc-hub.azure-devices.net';
const KEY = Buffer.from('integration-test-key-0000000002').toString('base64');
const POLICY_KEY = Buffer.from('service-policy-key-for-tests-001').toString('base64');
const SERVICE_APP = fileURLToPath(new URL('../../fixtures/azure/service-app.mjs', import.meta.url));

interface ServiceError {
  name?: string;
  message: string;
  statusCode?: number;
}

/**
 * Official SDKs on both ends with fieldgate in the middle: a back-end application on Microsoft's service
 * SDK (`azure-iothub`, in its own process, `test/fixtures/azure/service-app.mjs`) talks to the IoT Hub
 * emulator's service side; the real daemon, with its sim fleet and an Azure route over AMQP (where a C2D
 * message is settled by its command's result, so the feedback tells the service app the outcome), is the
 * device.
 */
describe('a service app on azure-iothub → the emulator → the fieldgate daemon → a simulated leaf', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let certs: TestCertificates;
  let hub: AzureHubEmulator;
  let daemon: Daemon;

  /** Run one operation of the service app; its JSON answer. */
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
  const route = async () => (await daemon.status()).routes.find((r) => r.name === 'azure')!;

  beforeAll(async () => {
    work = await makeWorkdir();
    certs = await makeTestCertificates([HOST]);
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({
        hostName: HOST,
        devices: { it: { primaryKey: KEY }, idle: { primaryKey: KEY } },
        policies: {
          iothubowner: {
            key: POLICY_KEY,
            permissions: ['ServiceConnect', 'RegistryRead', 'RegistryWrite', 'DeviceConnect'],
          },
        },
      }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      servicePort: 0,
      tls: certs.server,
      log: silentLogger(),
    });
    const config = testConfig(work.dir, 0, {
      routes: {
        azure: {
          upstream: {
            type: 'azure',
            protocol: 'amqp',
            hostName: HOST,
            deviceId: 'it',
            sharedAccessKey: KEY,
            endpoint: hub.amqpUrl,
            tls: { caFile: certs.server.certFile },
            ackTimeoutMs: 2000,
          },
          batch: { maxItems: 200 },
          backoff: { initialMs: 100, maxMs: 500 },
        },
      },
    });
    daemon = await Daemon.start(work.dir, config);
    await waitFor(() => hub.isConnected('it'), 'the daemon connected to the hub');
  });
  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await certs?.cleanup();
    await work?.cleanup();
  });

  it('sends C2D commands with feedback requested: the leaf runs one (Success), fieldgate refuses the other (Rejected)', async () => {
    type C2dOutcome = { sent: { messageId: string; ok?: boolean }[]; feedback: unknown[] };
    // One command per run, so that each settles on its own.
    const ran = await service<C2dOutcome>('c2d', {
      deviceId: 'it',
      commands: [{ messageId: 'svc-on', body: { device: 'sim:switch-01', name: 'on' } }],
    });
    const refused = await service<C2dOutcome>('c2d', {
      deviceId: 'it',
      commands: [{ messageId: 'svc-unknown', body: { device: 'sim:missing-01', name: 'on' } }],
    });
    expect([...ran.sent, ...refused.sent]).toEqual([
      { messageId: 'svc-on', ok: true },
      { messageId: 'svc-unknown', ok: true },
    ]);
    expect(ran.feedback).toEqual([
      expect.objectContaining({ originalMessageId: 'svc-on', deviceId: 'it', statusCode: 'Success' }),
    ]);
    expect(refused.feedback).toEqual([
      expect.objectContaining({ originalMessageId: 'svc-unknown', deviceId: 'it', statusCode: 'Rejected' }),
    ]);
    // The leaf really switched: its next reading says so.
    await waitFor(
      () =>
        hub.d2c.some(
          (m) =>
            m.properties['fieldgate-type'] === 'telemetry' &&
            (
              JSON.parse(m.body.toString()) as { readings: { device: string; values: { state?: unknown } }[] }
            ).readings.some((r) => r.device === 'sim:switch-01' && r.values.state === true),
        ),
      'the switch to report on',
    );
    // And the route's meter counts the C2D traffic the hub bills.
    await waitFor(async () => ((await route()).forwarder.billing?.operations.c2d ?? 0) >= 2, 'C2D metered');
    const billing = (await route()).forwarder.billing!;
    expect(billing.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(billing.billedUnitsToday).toBeGreaterThan(0);
    expect(billing.operations.d2c).toBeGreaterThan(0);
  });

  it('gets the feedback of messages that expired together as one batch, as IoT Hub sends it', async () => {
    // `idle` never connects: its three messages expire in the same sweep of the hub's clock.
    const expired = await service<{ sent: unknown[]; feedback: unknown[]; feedbackMessages: number[] }>(
      'c2d',
      {
        deviceId: 'idle',
        expiresInMs: 1500,
        commands: ['exp-1', 'exp-2', 'exp-3'].map((messageId) => ({ messageId, body: { name: 'on' } })),
      },
    );
    expect(expired.feedback).toHaveLength(3);
    expect(expired.feedback).toEqual(
      ['exp-1', 'exp-2', 'exp-3'].map(
        (id) =>
          expect.objectContaining({
            originalMessageId: id,
            deviceId: 'idle',
            statusCode: 'Expired',
          }) as unknown,
      ),
    );
    expect(expired.feedbackMessages).toEqual([3]);
  });

  it('invokes a direct method with a timeout and gets the leaf’s result; one nobody answers in time is 504', async () => {
    const on = await service<{ result?: unknown; error?: ServiceError }>('method', {
      deviceId: 'it',
      methodName: 'off',
      payload: { device: 'sim:switch-01' },
      responseTimeoutInSeconds: 20,
    });
    expect(on).toEqual({
      result: {
        status: 200,
        payload: expect.objectContaining({ device: 'sim:switch-01', status: 'ok' }) as unknown,
      },
    });

    // The gateway stalls (SIGSTOP) while a call waits: nobody answers within the 5 s the caller allowed.
    const pid = daemon.process.pid!;
    process.kill(pid, 'SIGSTOP');
    let stalled: { error?: ServiceError };
    try {
      stalled = await service<{ error?: ServiceError }>('method', {
        deviceId: 'it',
        methodName: 'off',
        payload: { device: 'sim:switch-01' },
        responseTimeoutInSeconds: 5,
      });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(stalled.error?.statusCode).toBe(504);

    const tooLong = await service<{ error?: ServiceError }>('method', {
      deviceId: 'it',
      methodName: 'on',
      payload: { device: 'sim:switch-01' },
      responseTimeoutInSeconds: 301,
    });
    expect(tooLong.error).toMatchObject({ name: 'ArgumentError', statusCode: 400 });
  });

  it('updates the twin’s desired properties through the Registry and reads fieldgate’s reported acknowledgement back', async () => {
    const update = await service<{ before: string; etag: string; desired: { $version: number } }>(
      'twinUpdate',
      {
        deviceId: 'it',
        desired: { logLevel: 'debug' },
      },
    );
    expect(update.etag).not.toBe(update.before);
    const version = update.desired.$version;
    await waitFor(async () => {
      const twin = await service<{ reported: { fieldgate?: { desired?: { version?: number } } } }>(
        'twinGet',
        {
          deviceId: 'it',
        },
      );
      return twin.reported.fieldgate?.desired?.version === version;
    }, 'fieldgate to acknowledge the desired version in its reported properties');
    const twin = await service<{ reported: { fieldgate: Record<string, unknown> } }>('twinGet', {
      deviceId: 'it',
    });
    expect(twin.reported.fieldgate).toMatchObject({
      desired: { version, ignored: ['logLevel'] },
      routes: { azure: { state: expect.any(String) as string } },
    });

    // The hub's concurrency and key rules, as the SDK sees them.
    const stale = await service<{ error?: ServiceError }>('twinUpdate', {
      deviceId: 'it',
      desired: { logLevel: 'info' },
      etag: update.before,
    });
    expect(stale.error).toMatchObject({ statusCode: 412 });
    const badKey = await service<{ error?: ServiceError }>('twinUpdate', {
      deviceId: 'it',
      desired: { 'log.level': 1 },
    });
    expect(badKey.error).toMatchObject({ name: 'ArgumentError', statusCode: 400 });
  });
});
