import { connect, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { createSasToken } from '../../../../src/upstream/azure/protocol/sas.js';
import { mqttUsername } from '../../../../src/upstream/azure/protocol/topics.js';
import { waitFor } from '../../../fakes/wait-for.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');

describe('the emulator’s twin over MQTT', () => {
  let hub: AzureHubEmulator;
  let client: MqttClient;
  let received: { topic: string; body: string }[];

  beforeEach(async () => {
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'dev-1': { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
    });
    const password = createSasToken({
      resourceUri: `${HOST}/devices/dev-1`,
      keyBase64: KEY,
      expiresAtS: Math.floor(Date.now() / 1000) + 600,
    });
    client = connect(hub.url, {
      clientId: 'dev-1',
      username: mqttUsername(HOST, 'dev-1'),
      password,
      clean: false,
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    received = [];
    client.on('message', (topic, payload) => received.push({ topic, body: payload.toString() }));
    await new Promise((resolve) => client.once('connect', resolve));
    await client.subscribeAsync({
      '$iothub/twin/res/#': { qos: 0 },
      '$iothub/twin/PATCH/properties/desired/#': { qos: 0 },
    });
  });
  afterEach(async () => {
    await client.endAsync(true);
    await hub.close();
  });

  const reply = async (rid: string) => {
    await waitFor(() => received.some((m) => m.topic.includes(`$rid=${rid}`)), `twin response ${rid}`);
    return received.find((m) => m.topic.includes(`$rid=${rid}`))!;
  };

  it('answers GET with both sections and their versions, and PATCH reported with 204 and the new version', async () => {
    hub.updateDesired('dev-1', { logLevel: 'debug' });
    await client.publishAsync('$iothub/twin/GET/?$rid=1', ' ');
    const get = await reply('1');
    expect(get.topic).toBe('$iothub/twin/res/200/?$rid=1');
    expect(JSON.parse(get.body)).toEqual({
      desired: { logLevel: 'debug', $version: 2 },
      reported: { $version: 1 },
    });

    await client.publishAsync('$iothub/twin/PATCH/properties/reported/?$rid=2', '{"a":{"b":1,"c":2}}');
    expect((await reply('2')).topic).toBe('$iothub/twin/res/204/?$rid=2&$version=2');
    await client.publishAsync('$iothub/twin/PATCH/properties/reported/?$rid=3', '{"a":{"c":null},"d":true}');
    expect((await reply('3')).topic).toBe('$iothub/twin/res/204/?$rid=3&$version=3');
    expect(hub.twin('dev-1').reported).toEqual({ a: { b: 1 }, d: true, $version: 3 });
  });

  it('answers 400 to a malformed patch and 413 past 32 KB, keeping the reported section unchanged', async () => {
    await client.publishAsync('$iothub/twin/PATCH/properties/reported/?$rid=bad', '{not json');
    expect((await reply('bad')).topic).toBe('$iothub/twin/res/400/?$rid=bad');
    await client.publishAsync(
      '$iothub/twin/PATCH/properties/reported/?$rid=big',
      JSON.stringify({ blob: 'x'.repeat(33 * 1024) }),
    );
    expect((await reply('big')).topic).toBe('$iothub/twin/res/413/?$rid=big');
    expect(hub.twin('dev-1').reported).toEqual({ $version: 1 });
  });

  it('answers only on the response subscription, as the hub does', async () => {
    await client.unsubscribeAsync('$iothub/twin/res/#');
    await client.publishAsync('$iothub/twin/GET/?$rid=unheard', ' ');
    await client.subscribeAsync('$iothub/twin/res/#');
    await client.publishAsync('$iothub/twin/GET/?$rid=heard', ' ');
    await reply('heard');
    // Answers go out in request order on one connection: had the first been sent, it would be here by now.
    expect(received.map((m) => m.topic)).toEqual(['$iothub/twin/res/200/?$rid=heard']);
  });

  it('pushes each desired patch with its version to the subscribed device', async () => {
    expect(hub.updateDesired('dev-1', { interval: 5 })).toBe(2);
    expect(hub.updateDesired('dev-1', { interval: 10 })).toBe(3);
    await waitFor(() => received.length === 2, 'two desired patches');
    expect(received).toEqual([
      { topic: '$iothub/twin/PATCH/properties/desired/?$version=2', body: '{"interval":5,"$version":2}' },
      { topic: '$iothub/twin/PATCH/properties/desired/?$version=3', body: '{"interval":10,"$version":3}' },
    ]);
  });
});
