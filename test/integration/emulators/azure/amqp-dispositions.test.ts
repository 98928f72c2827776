import rhea, { type Connection, type Delivery, type EventContext } from 'rhea';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { CbsLink, linkOpened } from '../../../../src/upstream/azure/amqp/amqp-link.js';
import {
  BATCH_MESSAGE_FORMAT,
  encodeBatch,
  fromPropertyBag,
} from '../../../../src/upstream/azure/protocol/amqp-message.js';
import { createSasToken, encodeUriComponentStrict } from '../../../../src/upstream/azure/protocol/sas.js';
import { waitFor } from '../../../fakes/wait-for.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');

describe('the emulator’s AMQP front end settles each D2C transfer with its own outcome', () => {
  let hub: AzureHubEmulator;
  let connection: Connection;

  beforeEach(async () => {
    const registry = new HubRegistry({ hostName: HOST, devices: { 'dev-1': { primaryKey: KEY } } });
    hub = await AzureHubEmulator.start({
      registry,
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      log: silentLogger(),
    });
    const url = new URL(hub.amqpUrl!);
    connection = rhea
      .create_container()
      .connect({ host: url.hostname, port: Number(url.port), reconnect: false });
    connection.on('error', () => undefined);
    connection.on('disconnected', () => undefined);
    await new Promise((resolve) => connection.once('connection_open', resolve));
  });
  afterEach(async () => {
    connection.close();
    await hub.close();
  });

  it('three transfers in one tick, the middle one refused: only the recorded ones are reported accepted', async () => {
    const cbs = await CbsLink.open(connection, 5000);
    const token = createSasToken({
      resourceUri: `${HOST}/devices/dev-1`,
      keyBase64: KEY,
      expiresAtS: Math.floor(Date.now() / 1000) + 600,
    });
    await cbs.putToken(encodeUriComponentStrict(`${HOST}/devices/dev-1`), token, 5000);
    const events = connection.open_sender({ target: { address: '/devices/dev-1/messages/events' } });
    await linkOpened(events, 5000);
    await waitFor(() => events.sendable(), 'credit on the events link');
    const outcomes = new Map<Delivery, string>();
    for (const name of ['accepted', 'rejected', 'released', 'modified'] as const) {
      events.on(name, (c: EventContext) => void outcomes.set(c.delivery!, name));
    }
    const message = (n: number) => fromPropertyBag({ n: String(n) }, Buffer.from(`{"n":${n}}`));
    // A quota of two units: the first single transfer leaves one, so the batch of two in the middle is
    // refused (403002) and the last single transfer passes. (Throttling now shapes, delaying instead of
    // refusing, so the quota is what gives a refusal within one tick.)
    hub.meter.setLimits({ dailyQuotaUnits: 2 });
    const sent = [
      events.send(message(1)),
      events.send(encodeBatch([message(2), message(3)]), undefined, BATCH_MESSAGE_FORMAT),
      events.send(message(4)),
    ];
    await waitFor(() => outcomes.size === 3, 'the hub to settle all three transfers');

    expect(sent.map((d) => outcomes.get(d))).toEqual(['accepted', 'rejected', 'accepted']);
    expect(hub.d2c.map((m) => m.properties.n)).toEqual(['1', '4']);
    expect(hub.counters()).toMatchObject({ quotaRefused: 1 });
  });
});
