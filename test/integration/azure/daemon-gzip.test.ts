import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { d2cContent } from '../../../emulators/azure/index.js';
import { AzureHubEmulator } from '../../../emulators/azure/index.js';
import { HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';
import { missing } from '../support/subscriber.js';

const HOST = 'gzip-hub.azure-devices.net';
const KEY = Buffer.from('integration-test-key-0000000002').toString('base64');

/** The real daemon, its sim fleet and a `type: azure` route with `encoding: json+gzip`, over AMQP. */
describe('the daemon to the IoT Hub emulator with encoding json+gzip', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let hub: AzureHubEmulator;
  let daemon: Daemon;
  const telemetry = () => hub.d2c.filter((m) => m.properties['fieldgate-type'] === 'telemetry');
  const gseqs = () =>
    new Set(
      telemetry().flatMap((m) =>
        (JSON.parse(d2cContent(m).toString('utf8')) as { readings: { gseq: number }[] }).readings.map(
          (r) => r.gseq,
        ),
      ),
    );

  beforeAll(async () => {
    work = await makeWorkdir();
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { it: { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      log: silentLogger(),
    });
    daemon = await Daemon.start(
      work.dir,
      testConfig(work.dir, 0, {
        routes: {
          azure: {
            upstream: {
              type: 'azure',
              protocol: 'amqp',
              encoding: 'json+gzip',
              hostName: HOST,
              deviceId: 'it',
              sharedAccessKey: KEY,
              endpoint: hub.amqpUrl,
              twin: { enabled: false },
            },
            drain: 'fifo',
          },
        },
      }),
    );
  });
  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await work?.cleanup();
  });

  it('delivers every reading in gzipped bodies marked gzip, with no gap', async () => {
    await waitFor(() => gseqs().size >= 200, '200 readings at the hub');
    for (const message of telemetry()) {
      expect(message.properties).toMatchObject({ '$.ct': 'application/json', '$.ce': 'gzip' });
    }
    // Sends overlap (maxInFlight), so a later batch may land first: every number up to the highest seen
    // now must arrive, a loss shows as a timeout here.
    const highest = Math.max(...gseqs());
    await waitFor(
      () => missing(gseqs()).filter((gseq) => gseq <= highest).length === 0,
      `every reading up to gseq ${highest}`,
    );
  });
});
