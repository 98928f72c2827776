import rhea, { type Connection, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { CbsLink, linkOpened } from '../../../../src/upstream/azure/amqp/amqp-link.js';
import { dataSection } from '../../../../src/upstream/azure/protocol/amqp-device-channels.js';
import { bodyOf } from '../../../../src/upstream/azure/protocol/amqp-message.js';
import { createSasToken, encodeUriComponentStrict } from '../../../../src/upstream/azure/protocol/sas.js';
import { waitFor } from '../../../fakes/wait-for.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');

describe('the emulator’s AMQP twin and methods links', () => {
  let hub: AzureHubEmulator;
  let connection: Connection;
  let inbox: Message[];

  beforeEach(async () => {
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'dev-1': { primaryKey: KEY } } }),
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
    inbox = [];
  });
  afterEach(async () => {
    connection.close();
    await hub.close();
  });

  async function authorize(): Promise<void> {
    const cbs = await CbsLink.open(connection, 5000);
    const token = createSasToken({
      resourceUri: `${HOST}/devices/dev-1`,
      keyBase64: KEY,
      expiresAtS: Math.floor(Date.now() / 1000) + 600,
    });
    await cbs.putToken(encodeUriComponentStrict(`${HOST}/devices/dev-1`), token, 5000);
  }

  /** The device's link pair on an address: its sender and its receiver (collecting into `inbox`). */
  async function pair(address: string): Promise<{ sender: Sender; receiver: Receiver }> {
    const properties = { 'com.microsoft:channel-correlation-id': `test:${address}` };
    const sender = connection.open_sender({ target: { address }, properties });
    const receiver = connection.open_receiver({ source: { address }, properties });
    receiver.on('message', (c: EventContext) => inbox.push(c.message!));
    await Promise.all([linkOpened(sender, 5000), linkOpened(receiver, 5000)]);
    return { sender, receiver };
  }

  const twinRequest = (sender: Sender, id: string, annotations: Record<string, unknown>, body = ' ') =>
    sender.send({
      correlation_id: id,
      message_annotations: annotations,
      body: dataSection(Buffer.from(body)),
    });
  const answer = async (id: string) => {
    await waitFor(() => inbox.some((m) => m.correlation_id === id), `answer to ${id}`);
    const message = inbox.find((m) => m.correlation_id === id)!;
    return {
      annotations: message.message_annotations as Record<string, unknown>,
      body: bodyOf(message).toString(),
    };
  };

  it('refuses the twin link without a token for the device', async () => {
    const sender = connection.open_sender({ target: { address: '/devices/dev-1/twin' } });
    await expect(linkOpened(sender, 5000)).rejects.toThrow(/refused access/);
  });

  it('serves GET, PATCH reported and the desired subscription with statuses and versions', async () => {
    await authorize();
    const { sender } = await pair('/devices/dev-1/twin');
    twinRequest(sender, 'r1', { operation: 'PATCH', resource: '/properties/reported' }, '{"fw":"1.2"}');
    expect(await answer('r1')).toEqual({ annotations: { status: 204, version: 2 }, body: '' });
    twinRequest(sender, 'r2', { operation: 'PATCH', resource: '/properties/reported' }, '[1,2]');
    expect((await answer('r2')).annotations.status).toBe(400);

    hub.updateDesired('dev-1', { mode: 'eco' }); // not subscribed yet: not pushed
    twinRequest(sender, 'r3', { operation: 'GET' });
    const twin = await answer('r3');
    expect(twin.annotations.status).toBe(200);
    expect(JSON.parse(twin.body)).toEqual({
      desired: { mode: 'eco', $version: 2 },
      reported: { fw: '1.2', $version: 2 },
    });

    twinRequest(sender, 'r4', { operation: 'PUT', resource: '/notifications/twin/properties/desired' });
    expect((await answer('r4')).annotations.status).toBe(200);
    hub.updateDesired('dev-1', { mode: 'boost' });
    await waitFor(() => inbox.some((m) => m.correlation_id === undefined), 'a desired patch');
    const pushed = inbox.filter((m) => m.correlation_id === undefined);
    expect(pushed.map((m) => JSON.parse(bodyOf(m).toString()) as unknown)).toEqual([
      { mode: 'boost', $version: 3 },
    ]);
  });

  it('invokes a direct method on the methods link and returns the device’s status and payload', async () => {
    await authorize();
    const { sender } = await pair('/devices/dev-1/methods/devicebound');
    const call = hub.invokeMethod('dev-1', 'reboot', { delayS: 1 }, 10_000);
    await waitFor(() => inbox.length === 1, 'the method request');
    const request = inbox[0]!;
    expect((request.application_properties as Record<string, unknown>)['IoThub-methodname']).toBe('reboot');
    expect(JSON.parse(bodyOf(request).toString())).toEqual({ delayS: 1 });
    sender.send({
      correlation_id: request.correlation_id!,
      application_properties: { 'IoThub-status': 202 },
      body: dataSection(Buffer.from('{"ok":true}')),
    });
    await expect(call).resolves.toEqual({ status: 202, payload: { ok: true } });
  });

  it('fails a method call with 504 when the device does not answer in time, and 404 with no link', async () => {
    await expect(hub.invokeMethod('dev-1', 'x', {}, 5000)).rejects.toMatchObject({ status: 404 });
    await authorize();
    await pair('/devices/dev-1/methods/devicebound');
    // The shortest timeout the hub allows.
    await expect(hub.invokeMethod('dev-1', 'x', {}, 5000)).rejects.toMatchObject({ status: 504 });
  });
});
