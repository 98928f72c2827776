import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { KeyPair, PolicyDocument } from '../../../../emulators/aws/index.js';
import { startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

const POLICY: PolicyDocument = {
  Statement: [
    {
      Effect: 'Allow',
      Action: 'iot:Connect',
      Resource: 'arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}',
    },
    { Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive'], Resource: 'arn:aws:iot:*:*:topic/t/*' },
    { Effect: 'Allow', Action: 'iot:Subscribe', Resource: 'arn:aws:iot:*:*:topicfilter/t/*' },
  ],
};

/**
 * The emulator's connection budget, metering and ALPN rule, on a clock the test holds still or moves:
 * IoT Core counts publishes per connection in both directions together and discards the excess silently
 * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits), bills every message as in
 * docs/clouds/aws-iot-core.md#gateway-pattern-and-metering, and requires ALPN `x-amzn-mqtt-ca` on 443.
 */
describe('the IoT Core emulator: one budget both ways, metering, ALPN', () => {
  let cloud: TestCloud;
  let clock = 1_000_000;
  const clients: MqttClient[] = [];

  const start = async (options: { requireAlpn?: boolean } = {}): Promise<KeyPair> => {
    cloud = await startTestCloud({ now: () => clock, ...options });
    return cloud.emulator.mintDevice('gw-1', POLICY);
  };
  const open = async (device: KeyPair, extra: Partial<IClientOptions> = {}) => {
    const client = connect({
      host: '127.0.0.1',
      port: cloud.emulator.mqttPort,
      servername: 'localhost',
      cert: device.certPem,
      key: device.keyPem,
      ca: cloud.emulator.ca.certPem,
      protocol: 'mqtts',
      clientId: 'gw-1',
      reconnectPeriod: 0,
      ...extra,
    });
    clients.push(client);
    client.on('error', () => undefined);
    const received: string[] = [];
    client.on('message', (_topic, payload) => received.push(payload.toString()));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
    return { client, received };
  };

  afterEach(async () => {
    for (const client of clients.splice(0)) client.end(true);
    await cloud.close();
  });

  it('counts what it sends a device and what the device publishes in one 100/s, and silently drops the rest', async () => {
    const { client, received } = await open(await start());
    await client.subscribeAsync('t/in', { qos: 1 });
    // The clock stands still: everything below falls in one second, however slow the machine.
    for (let i = 0; i < 80; i++) await cloud.publish('t/in', `down-${i}`);
    await waitFor(() => received.length === 80, 'the 80 messages to the device');
    const acked: number[] = [];
    for (let i = 0; i < 30; i++) client.publish('t/out', `up-${i}`, { qos: 1 }, (e) => e ?? acked.push(i));
    const up = () => cloud.messages.filter((m) => m.topic === 't/out');
    await waitFor(() => cloud.emulator.broker.discarded('gw-1').inbound === 10, 'ten publishes discarded');
    // The first 20 fit (80 + 20 = 100); the other ten got no PUBACK and went nowhere.
    await waitFor(() => acked.length === 20, 'twenty PUBACKs');
    expect(up().map((m) => m.payload.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `up-${i}`));
    // Messages to the device are over the budget too: never sent.
    for (let i = 0; i < 5; i++) await cloud.publish('t/in', `late-${i}`);
    await waitFor(() => cloud.emulator.broker.discarded('gw-1').outbound === 5, 'five deliveries discarded');
    expect(received).toHaveLength(80);
    // Silent: the connection stays, nothing is refused or logged as a refusal.
    expect(client.connected).toBe(true);
    expect(cloud.emulator.broker.refusals()).toEqual([]);
    expect(cloud.emulator.meter.read().discardedPublishes).toBe(15);
    expect(cloud.messages.filter((m) => m.topic.startsWith('$emulator'))).toEqual([]);
    expect(cloud.emulator.broker.peakPublishRate('gw-1')).toBe(115);

    // A second later the budget is back, in both directions.
    clock += 1000;
    await client.publishAsync('t/out', 'after', { qos: 1 });
    await cloud.publish('t/in', 'after');
    await waitFor(() => received.includes('after'), 'the delivery after the window');
    expect(cloud.emulator.broker.discarded('gw-1')).toEqual({ inbound: 10, outbound: 5 });
  });

  it('meters publishes both ways, PUBACKs, SUBSCRIBEs, CONNECTs, retained messages and minutes as IoT Core bills', async () => {
    const { client, received } = await open(await start());
    await client.subscribeAsync(['t/a', 't/b'], { qos: 1 });
    // 5,121 bytes of topic and payload: two 5 KB units.
    await client.publishAsync('t/x', Buffer.alloc(5121 - 3), { qos: 1 });
    await client.publishAsync('t/r', 'kept', { qos: 1, retain: true });
    await cloud.publish('t/a', 'to the device');
    await waitFor(() => received.length === 1, 'the message to the device');
    await waitFor(
      () => cloud.emulator.meter.read().messagingUnitsBy.puback === 1,
      'the device PUBACK metered',
    );
    clock += 90_000;
    const meter = cloud.emulator.meter.read();
    expect(meter.messagingUnitsBy).toEqual({
      connect: 1,
      subscribe: 1,
      publishIn: 3,
      retained: 1,
      publishOut: 1,
      puback: 1,
    });
    expect(meter.messagingUnits).toBe(8);
    expect(meter.connects).toBe(1);
    // Connectivity in one-minute increments: 90 s is two minutes.
    expect(meter.connectionMinutes).toBe(2);
  });

  it('closes an MQTT connection without ALPN x-amzn-mqtt-ca when ALPN is required (port 443), takes one with it', async () => {
    const device = await start({ requireAlpn: true });
    await expect(open(device)).rejects.toThrow(/closed before CONNACK/);
    expect(cloud.emulator.broker.refusals()).toMatchObject([
      { clientId: 'gw-1', action: 'connect', reason: expect.stringMatching(/ALPN/) as string },
    ]);
    clock += 1000;
    const { client } = await open(device, { ALPNProtocols: ['x-amzn-mqtt-ca'] });
    expect(client.connected).toBe(true);
    // A TLS client offering only another protocol is refused in the handshake.
    const refused = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: cloud.emulator.mqttPort,
        servername: 'localhost',
        cert: device.certPem,
        key: device.keyPem,
        ca: cloud.emulator.ca.certPem,
        ALPNProtocols: ['http/1.1'],
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
