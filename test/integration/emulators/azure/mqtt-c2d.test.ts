import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { createSasToken } from '../../../../src/upstream/azure/protocol/sas.js';
import { c2dFilter, mqttUsername } from '../../../../src/upstream/azure/protocol/topics.js';
import { waitFor } from '../../../fakes/wait-for.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');

/** A PUBACK for packet id 0x1092, which the emulator never sent: 0x40, remaining length 2, the id. */
const STRAY_PUBACK = Buffer.from([0x40, 0x02, 0x10, 0x92]);

describe('the emulator’s C2D over MQTT, as IoT Hub keeps a device queue', () => {
  let hub: AzureHubEmulator;
  const clients: MqttClient[] = [];

  beforeEach(async () => {
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'dev-1': { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await hub.close();
  });

  /** A connected device subscribed to its C2D topic; what it received, and whether it acknowledges. */
  const device = async (options: Partial<IClientOptions> & { acknowledges?: boolean } = {}) => {
    const { acknowledges = true, ...mqttOptions } = options;
    const received: string[] = [];
    const client = connect(hub.url, {
      clientId: 'dev-1',
      username: mqttUsername(HOST, 'dev-1'),
      password: createSasToken({
        resourceUri: `${HOST}/devices/dev-1`,
        keyBase64: KEY,
        expiresAtS: Math.floor(Date.now() / 1000) + 600,
      }),
      clean: true,
      reconnectPeriod: 0,
      ...mqttOptions,
    });
    clients.push(client);
    // A device that dies before it acknowledges: MQTT.js sends the PUBACK when `handleMessage` is done.
    if (!acknowledges) client.handleMessage = () => undefined;
    client.on('error', () => undefined);
    client.on('message', (_topic, payload) => received.push(payload.toString()));
    await new Promise((resolve) => client.once('connect', resolve));
    await client.subscribeAsync(c2dFilter('dev-1'), { qos: 1 });
    return { client, received };
  };

  it('completes a C2D message acknowledged by a CleanSession=1 device, and keeps serving', async () => {
    await device();
    hub.sendC2d('dev-1', { body: 'on', messageId: 'c1', ack: 'full' });
    await waitFor(() => hub.feedback().length > 0, 'feedback for c1');
    expect(hub.feedback()).toMatchObject([{ originalMessageId: 'c1', statusCode: 'Success' }]);
    expect(hub.c2d.depth('dev-1')).toBe(0);
    await device({ clientId: 'dev-1' });
    expect(hub.isConnected('dev-1')).toBe(true);
  });

  it('ignores a stray acknowledgement instead of dying, and still delivers afterwards', async () => {
    const { client, received } = await device();
    client.stream.write(STRAY_PUBACK);
    hub.sendC2d('dev-1', { body: 'after', messageId: 'c2', ack: 'full' });
    await waitFor(() => received.includes('after'), 'delivery after the stray PUBACK');
    await waitFor(() => hub.feedback().length > 0, 'feedback for c2');
    expect(hub.feedback()).toMatchObject([{ originalMessageId: 'c2', statusCode: 'Success' }]);
  });

  it('redelivers an unacknowledged message after a clean reconnect, and completes it then', async () => {
    const first = await device({ acknowledges: false });
    hub.sendC2d('dev-1', { body: 'unlock', messageId: 'c3', ack: 'full' });
    await waitFor(() => first.received.includes('unlock'), 'first delivery');
    await first.client.endAsync(true);
    await waitFor(() => !hub.isConnected('dev-1'), 'the first connection gone');
    expect(hub.feedback()).toEqual([]);

    const second = await device();
    await waitFor(() => second.received.includes('unlock'), 'redelivery on the new session');
    await waitFor(() => hub.feedback().length > 0, 'feedback for c3');
    expect(hub.feedback()).toMatchObject([{ originalMessageId: 'c3', statusCode: 'Success' }]);
  });

  it('expires an undelivered message on the hub’s clock with Expired feedback, nobody touching the queue', async () => {
    hub.sendC2d('dev-1', { body: 'late', messageId: 'c4', ack: 'full', ttlMs: 1000 });
    await waitFor(() => hub.feedback().length > 0, 'Expired feedback for c4', 15_000);
    expect(hub.feedback()).toMatchObject([
      { originalMessageId: 'c4', deviceId: 'dev-1', statusCode: 'Expired' },
    ]);
  });

  it('expires a message whose clean session ended unacknowledged', async () => {
    const first = await device({ acknowledges: false });
    hub.sendC2d('dev-1', { body: 'lost', messageId: 'c5', ack: 'negative', ttlMs: 1500 });
    await waitFor(() => first.received.includes('lost'), 'delivery');
    await first.client.endAsync(true);
    await waitFor(() => hub.feedback().length > 0, 'Expired feedback for c5', 15_000);
    expect(hub.feedback()).toMatchObject([{ originalMessageId: 'c5', statusCode: 'Expired' }]);
  });
});
