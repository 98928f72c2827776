import { connect, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { createSasToken } from '../../../../src/upstream/azure/protocol/sas.js';
import { METHODS_FILTER, mqttUsername } from '../../../../src/upstream/azure/protocol/topics.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');

describe('the emulator’s direct-method bounds and D2C traffic shaping', () => {
  let hub: AzureHubEmulator;
  let client: MqttClient;

  beforeEach(async () => {
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'dev-1': { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
    });
    client = connect(hub.url, {
      clientId: 'dev-1',
      username: mqttUsername(HOST, 'dev-1'),
      password: createSasToken({
        resourceUri: `${HOST}/devices/dev-1`,
        keyBase64: KEY,
        expiresAtS: Math.floor(Date.now() / 1000) + 600,
      }),
      clean: true,
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('connect', resolve));
  });
  afterEach(async () => {
    await client.endAsync(true);
    await hub.close();
  });

  /** The device answers every method with 200 and `{ echo: <request> }`. */
  const answerMethods = async () => {
    client.on('message', (topic, payload) => {
      const rid = /\?\$rid=(.+)$/.exec(topic)?.[1];
      if (rid === undefined) return;
      const reply = JSON.stringify({ echo: JSON.parse(payload.toString()) as unknown });
      client.publish(`$iothub/methods/res/200/?$rid=${rid}`, reply);
    });
    await client.subscribeAsync(METHODS_FILTER, { qos: 0 });
  };

  it('refuses a method timeout outside 5–300 s and a payload over 128 KB with 400, before the device sees it', async () => {
    // https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-direct-methods
    await answerMethods();
    for (const timeoutMs of [4_999, 300_001, 0]) {
      await expect(hub.invokeMethod('dev-1', 'ping', {}, timeoutMs)).rejects.toMatchObject({ status: 400 });
    }
    const tooLarge = 'x'.repeat(128 * 1024);
    await expect(hub.invokeMethod('dev-1', 'ping', tooLarge, 10_000)).rejects.toMatchObject({ status: 400 });
    expect(hub.counters().operations.method).toBe(0);
    for (const timeoutMs of [5_000, 300_000]) {
      await expect(hub.invokeMethod('dev-1', 'ping', { n: 1 }, timeoutMs)).resolves.toEqual({
        status: 200,
        payload: { echo: { n: 1 } },
      });
    }
    const justFits = 'y'.repeat(128 * 1024 - 2);
    await expect(hub.invokeMethod('dev-1', 'ping', justFits, 10_000)).resolves.toMatchObject({ status: 200 });
    // Billed: each call's request and response in 4 KB chunks; the large one 32 + 33 chunks.
    expect(hub.counters().operations.method).toBe(3);
    expect(hub.counters().operationUnits).toBe(1 + 1 + 1 + 1 + 32 + 33);
  });

  it('shapes D2C above the rate: every message is acknowledged, later, and the connection stays up', async () => {
    hub.meter.setLimits({ d2cPerSecond: 2 });
    const startedAt = Date.now();
    const sends = Array.from({ length: 5 }, (_, i) =>
      client.publishAsync('devices/dev-1/messages/events/', `m${i}`, { qos: 1 }),
    );
    await Promise.all(sends);
    expect(hub.d2c.map((r) => r.body.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(client.connected).toBe(true);
    expect(hub.counters()).toMatchObject({ messages: 5, throttled: 0, shaped: 3 });
    // Two within the one-second burst, then one every 500 ms: the fifth waits at least 1.5 s.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_400);
  });

  it('answers 429 (closing the MQTT connection) only once the shaping queue is full', async () => {
    hub.meter.setLimits({ d2cPerSecond: 1 });
    // Burst 1, a queue of 2 s at 1/s: of ten messages published at once, some find the queue full.
    const sends = Array.from({ length: 10 }, (_, i) =>
      client.publishAsync('devices/dev-1/messages/events/', `m${i}`, { qos: 1 }).catch(() => 'refused'),
    );
    await new Promise<void>((resolve) => client.once('close', () => resolve()));
    void Promise.all(sends);
    expect(hub.counters().throttled).toBeGreaterThanOrEqual(1);
  });
});
