import { connectAsync } from 'mqtt';
import { silentLogger } from '../../src/logger.js';
import { startMqttBroker } from '../../emulators/mqtt/index.js';
import { decodeBatch } from '../../src/upstream/common/batch-payload.js';
import { MqttUpstream } from '../../src/upstream/mqtt/mqtt-upstream.js';
import { describeUpstreamContract, type UpstreamHarness } from './upstream.contract.js';

describeUpstreamContract('MqttUpstream against the in-process broker', async (): Promise<UpstreamHarness> => {
  const broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  const cloud = await connectAsync(broker.url, { clientId: 'contract-cloud', reconnectPeriod: 0 });
  const received: number[] = [];
  const results: { id: string; status: string; device?: string }[] = [];
  cloud.on('error', () => undefined);
  cloud.on('message', (topic, payload) => {
    if (topic.endsWith('/telemetry')) received.push(...decodeBatch(payload).readings.map((r) => r.gseq));
    else results.push(JSON.parse(payload.toString()) as (typeof results)[number]);
  });
  await cloud.subscribeAsync(['fieldgate/gw-contract/telemetry', 'fieldgate/gw-contract/results'], {
    qos: 1,
  });

  const upstream = new MqttUpstream({
    config: {
      type: 'mqtt',
      url: broker.url,
      keepaliveS: 60,
      topics: {
        telemetry: 'fieldgate/{gateway}/telemetry',
        commands: 'fieldgate/{gateway}/commands',
        results: 'fieldgate/{gateway}/results',
      },
      encoding: 'json',
      maxMessageBytes: 4096,
      maxMessagesPerSecond: 1000,
      ackTimeoutMs: 10_000,
    },
    gatewayId: 'gw-contract',
    route: 'contract',
    log: silentLogger(),
  });
  return {
    upstream,
    received: () => received,
    results: () => results,
    sendCommand: async (device, body) => {
      await cloud.publishAsync(`fieldgate/gw-contract/commands/${device}`, JSON.stringify(body), { qos: 1 });
    },
    takeOffline: () => broker.close(),
    dispose: async () => {
      await cloud.endAsync(true);
      await broker.close();
    },
  };
});
