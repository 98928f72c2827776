import rhea, { type Connection, type EventContext, type Receiver, type Sender } from 'rhea';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { silentLogger } from '../../../../src/logger.js';
import { CbsLink, linkOpened } from '../../../../src/upstream/azure/amqp/amqp-link.js';
import { createSasToken, encodeUriComponentStrict } from '../../../../src/upstream/azure/protocol/sas.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');
const POLICY_KEY = Buffer.from('policy-key-for-tests-only-000002').toString('base64');
const inS = (s: number) => Math.floor(Date.now() / 1000) + s;

describe('the emulator’s AMQP front end', () => {
  let hub: AzureHubEmulator;
  let connection: Connection;

  beforeEach(async () => {
    const registry = new HubRegistry({
      hostName: HOST,
      devices: { 'dev-1': { primaryKey: KEY }, 'dev-2': { primaryKey: KEY } },
      policies: { device: { key: POLICY_KEY, permissions: ['DeviceConnect'] } },
    });
    // Plain AMQP on loopback: CBS and link authorization are the same as over TLS.
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

  const eventsLink = (device: string): Sender =>
    connection.open_sender({ target: { address: `/devices/${device}/messages/events` } });
  const deviceToken = (device: string, expiresAtS = inS(600)) =>
    createSasToken({ resourceUri: `${HOST}/devices/${device}`, keyBase64: KEY, expiresAtS });

  it('refuses to attach a device’s link before a token for it was put', async () => {
    const error = await linkOpened(eventsLink('dev-1'), 5000).catch((e: unknown) => e);
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
  });

  it('answers 401 to a token signed with the wrong key, 200 to a good one, and scopes it to its device', async () => {
    const cbs = await CbsLink.open(connection, 5000);
    const wrong = createSasToken({
      resourceUri: `${HOST}/devices/dev-1`,
      keyBase64: POLICY_KEY,
      expiresAtS: inS(600),
    });
    const refused = await cbs.putToken('dev-1', wrong, 5000).catch((e: unknown) => e);
    expect(isFieldgateError(refused, 'FG_UPSTREAM_AUTH')).toBe(true);
    await cbs.putToken(encodeUriComponentStrict(`${HOST}/devices/dev-1`), deviceToken('dev-1'), 5000);
    await linkOpened(eventsLink('dev-1'), 5000);
    const other = await linkOpened(eventsLink('dev-2'), 5000).catch((e: unknown) => e);
    expect(isFieldgateError(other, 'FG_UPSTREAM_AUTH')).toBe(true);
  });

  it('lets one hub-wide policy token open links for many devices on one connection', async () => {
    const cbs = await CbsLink.open(connection, 5000);
    const policy = createSasToken({
      resourceUri: HOST,
      keyBase64: POLICY_KEY,
      policyName: 'device',
      expiresAtS: inS(600),
    });
    await cbs.putToken(HOST, policy, 5000);
    await linkOpened(eventsLink('dev-1'), 5000);
    await linkOpened(eventsLink('dev-2'), 5000);
  });

  it('detaches a device’s links when its token expires unrenewed', async () => {
    const cbs = await CbsLink.open(connection, 5000);
    await cbs.putToken('dev-1', deviceToken('dev-1', inS(2)), 5000);
    const c2d: Receiver = connection.open_receiver({
      source: { address: `/devices/dev-1/messages/deviceBound` },
    });
    await linkOpened(c2d, 5000);
    const detached = await new Promise<unknown>((resolve) =>
      c2d.once('receiver_close', (context: EventContext) => resolve(context.receiver?.error)),
    );
    expect(detached).toMatchObject({ condition: 'amqp:unauthorized-access' });
  });
});
