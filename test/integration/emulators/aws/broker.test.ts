import { connect as tlsConnect } from 'node:tls';
import { request } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { KeyPair } from '../../../../emulators/aws/index.js';
import { startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

describe('the IoT Core emulator broker', () => {
  let cloud: TestCloud;
  let device: KeyPair;
  const clients: MqttClient[] = [];

  const tls = (pair: KeyPair) => ({
    host: '127.0.0.1',
    port: cloud.emulator.mqttPort,
    servername: 'localhost',
    cert: pair.certPem,
    key: pair.keyPem,
    ca: cloud.emulator.ca.certPem,
  });
  /** A raw device connection, resolved on CONNACK, with every received message recorded. */
  const open = async (clientId: string, extra: Partial<IClientOptions> = {}, pair = device) => {
    const client = connect({
      ...tls(pair),
      protocol: 'mqtts',
      clientId,
      reconnectPeriod: 0,
      ...extra,
    });
    clients.push(client);
    client.on('error', () => undefined);
    const received: { topic: string; payload: string; retain: boolean }[] = [];
    client.on('message', (topic, payload, packet) =>
      received.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('close', () => reject(new Error('closed before CONNACK')));
      client.once('error', reject);
    });
    return { client, received };
  };

  beforeEach(async () => {
    cloud = await startTestCloud();
    device = await cloud.emulator.mintDevice('gw-1', {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'iot:Connect',
          Resource: 'arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}',
        },
        { Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive'], Resource: 'arn:aws:iot:*:*:topic/t/*' },
        { Effect: 'Allow', Action: 'iot:Subscribe', Resource: 'arn:aws:iot:*:*:topicfilter/t/*' },
      ],
    });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.end(true);
    await cloud.close();
  });

  it('refuses a TLS connection without SNI', async () => {
    const { servername: _sni, ...noSni } = tls(device);
    const closed = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect(noSni);
      socket.on('error', () => undefined);
      socket.once('close', () => resolve(true));
    });
    expect(closed).toBe(true);
  });

  it('acknowledges QoS 1 but never a QoS 2 publish', async () => {
    const { client } = await open('gw-1');
    await client.publishAsync('t/one', 'x', { qos: 1 });
    let isAcked = false;
    client.publish('t/two', 'x', { qos: 2 }, () => (isAcked = true));
    await waitFor(() => cloud.messages.some((m) => m.topic === 't/two'), 'the QoS 2 message to be delivered');
    await client.publishAsync('t/three', 'x', { qos: 1 });
    expect(isAcked).toBe(false);
  });

  it('delivers a retained message only to a filter equal to its topic, and # never matches the parent', async () => {
    const { client: publisher } = await open('gw-1');
    await publisher.publishAsync('t/state', 'on', { qos: 1, retain: true });
    publisher.end(true);
    const other = await cloud.emulator.mintDevice('gw-2', {
      Statement: [{ Effect: 'Allow', Action: 'iot:*', Resource: '*' }],
    });
    const { client, received } = await open('gw-2', {}, other);
    await client.subscribeAsync(['t/#', 'x/#'], { qos: 1 });
    await client.subscribeAsync('t/state', { qos: 1 });
    await waitFor(() => received.length > 0, 'the retained message');
    await client.subscribeAsync('x', { qos: 1 });
    await cloud.publish('x', 'parent-of-x');
    await cloud.publish('t/live', 'live');
    await waitFor(() => received.some((m) => m.topic === 't/live'), 'the live message');
    expect(received.filter((m) => m.topic === 't/state')).toHaveLength(1);
    expect(received.find((m) => m.topic === 'x')).toBeDefined();
    expect(received.filter((m) => m.topic === 'x')).toHaveLength(1);
  });

  it('refuses a subscription the policy does not allow with SUBACK 0x80, and the connection stays', async () => {
    const { client } = await open('gw-1');
    const refusal = await client.subscribeAsync(['t/ok', 'secret/x'], { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toMatchObject({ packet: { granted: [1, 128] } });
    await client.publishAsync('t/ok', 'still connected', { qos: 1 });
    expect(client.connected).toBe(true);
  });

  it('closes the connection on a publish over 128 KB or one the policy does not allow', async () => {
    for (const [topic, size] of [
      ['t/big', 128 * 1024 + 1],
      ['secret/x', 10],
    ] as const) {
      const { client } = await open(`gw-1`).catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        return open('gw-1');
      });
      client.publish(topic, Buffer.alloc(size), { qos: 1 });
      await waitFor(() => !client.connected, `the connection to close after ${topic}`);
    }
    expect(cloud.emulator.meter.read().refusedPublishes).toBe(2);
  });

  it('answers CONNACK 5 instead of closing when configured to', async () => {
    await cloud.close();
    cloud = await startTestCloud({ connectDenial: 'connack' });
    device = await cloud.emulator.mintDevice('gw-1');
    const error = await open('not-the-thing').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 5 });
  });

  it('accepts an HTTPS publish with IoT Core’s reply', async () => {
    const https = await cloud.emulator.mintDevice('gw-http', {
      Statement: [{ Effect: 'Allow', Action: 'iot:Publish', Resource: 'arn:aws:iot:*:*:topic/t/*' }],
    });
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          ...tls(https),
          port: cloud.emulator.httpsPort,
          method: 'POST',
          path: `/topics/${encodeURIComponent('t/http')}?qos=1`,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end('{"v":1}');
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ message: 'OK', traceId: expect.any(String) as unknown });
    expect(cloud.messages.find((m) => m.topic === 't/http')?.payload.toString()).toBe('{"v":1}');
  });
});
