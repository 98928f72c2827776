import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../../src/logger.js';

describe('startMqttBroker', () => {
  it('picks a free port and relays QoS 1 messages between clients', async () => {
    const broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    expect(broker.port).toBeGreaterThan(0);
    const subscriber = await connectAsync(broker.url, { reconnectPeriod: 0 });
    const publisher = await connectAsync(broker.url, { reconnectPeriod: 0 });
    await subscriber.subscribeAsync('t', { qos: 1 });
    const message = new Promise<[string, Buffer]>((resolve) =>
      subscriber.once('message', (topic, payload) => resolve([topic, payload])),
    );
    await publisher.publishAsync('t', 'hello', { qos: 1 });
    const [topic, payload] = await message;
    expect([topic, payload.toString()]).toEqual(['t', 'hello']);
    await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
    await broker.close();
  });

  it('closes promptly even with clients still connected, including ones that never sent CONNECT', async () => {
    const broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    const client = await connectAsync(broker.url, { reconnectPeriod: 0 });
    client.on('error', () => undefined);
    const raw = netConnect(broker.port, '127.0.0.1');
    raw.on('error', () => undefined);
    await once(raw, 'connect');

    await broker.close();
    await waitClosed(client);
    expect(client.connected).toBe(false);
    await expect(connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 2000 })).rejects.toThrow();
    raw.destroy();
  });
});

function waitClosed(client: {
  connected: boolean;
  once(event: 'close', cb: () => void): unknown;
}): Promise<void> {
  return client.connected ? new Promise((resolve) => client.once('close', resolve)) : Promise.resolve();
}
