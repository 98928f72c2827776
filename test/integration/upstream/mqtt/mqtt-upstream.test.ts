import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../../../emulators/mqtt/index.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { silentLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { decodeBatch } from '../../../../src/upstream/common/batch-payload.js';
import { MqttUpstream, type MqttUpstreamConfig } from '../../../../src/upstream/mqtt/mqtt-upstream.js';
import type { IncomingCommand } from '../../../../src/upstream/upstream.js';
import { waitFor } from '../../../fakes/wait-for.js';

const live = (): AbortSignal => new AbortController().signal;
const envelopes = (count: number): Envelope[] =>
  Array.from({ length: count }, (_, i) => ({
    gseq: i + 1,
    reading: { device: 'sim:thermo-01', ts: 1_700_000_000_000 + i, values: { n: i } },
  }));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(
  options: {
    port?: number;
    credentials?: { username: string; password: string };
    refusedFilters?: string[];
  } = {},
): Promise<MqttBroker> {
  const started = await startMqttBroker({
    host: '127.0.0.1',
    port: options.port ?? 0,
    log: silentLogger(),
    ...options,
  });
  cleanups.push(() => started.close());
  return started;
}

function upstream(
  url: string,
  config: Partial<MqttUpstreamConfig> = {},
  readFile?: (path: string) => Promise<Buffer>,
): MqttUpstream {
  const created = new MqttUpstream({
    config: {
      type: 'mqtt',
      url,
      keepaliveS: 60,
      topics: {
        telemetry: 'fg/{gateway}/telemetry',
        commands: 'fg/{gateway}/commands',
        results: 'fg/{gateway}/results',
      },
      encoding: 'json',
      maxMessageBytes: 256 * 1024,
      maxMessagesPerSecond: 1000,
      ackTimeoutMs: 10_000,
      ...config,
    },
    gatewayId: 'gw',
    route: 'main',
    log: silentLogger(),
    ...(readFile === undefined ? {} : { readFile }),
  });
  cleanups.push(() => created.close());
  return created;
}

/** A cloud-side client that records every message on the topics it subscribes to. */
async function cloudClient(
  url: string,
  topics: string[],
): Promise<{ client: MqttClient; messages: { topic: string; payload: Buffer }[] }> {
  const client = await connectAsync(url, { clientId: `cloud-${Math.random()}`, reconnectPeriod: 0 });
  client.on('error', () => undefined);
  cleanups.push(() => client.endAsync(true));
  const messages: { topic: string; payload: Buffer }[] = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload }));
  if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
  return { client, messages };
}

describe('MqttUpstream', () => {
  it('publishes gzipped batches a subscriber can decode', async () => {
    const { url } = await broker();
    const cloud = await cloudClient(url, ['fg/gw/telemetry']);
    const gateway = upstream(url, { encoding: 'json+gzip' });
    await gateway.connect(live());

    expect(await gateway.send(envelopes(20), live())).toEqual({ kind: 'ok' });
    await waitFor(() => cloud.messages.length === 1, 'the batch');
    expect(decodeBatch(cloud.messages[0]!.payload).readings.map((r) => r.gseq)).toEqual(
      envelopes(20).map((e) => e.gseq),
    );
  });

  it('splits a batch into messages within maxMessageBytes', async () => {
    const { url } = await broker();
    const cloud = await cloudClient(url, ['fg/gw/telemetry']);
    const gateway = upstream(url, { maxMessageBytes: 300 });
    await gateway.connect(live());

    expect(await gateway.send(envelopes(20), live())).toEqual({ kind: 'ok' });
    await waitFor(
      () => cloud.messages.flatMap((m) => decodeBatch(m.payload).readings).length === 20,
      'all readings',
    );
    expect(cloud.messages.length).toBeGreaterThan(1);
    for (const m of cloud.messages) expect(m.payload.length).toBeLessThanOrEqual(300);
  });

  it('takes commands addressed in the body on the bare commands topic, once each', async () => {
    const { url } = await broker();
    const cloud = await cloudClient(url, []);
    const gateway = upstream(url);
    const received: IncomingCommand[] = [];
    gateway.onCommand((incoming) => received.push(incoming));
    await gateway.connect(live());

    await cloud.client.publishAsync(
      'fg/gw/commands',
      JSON.stringify({ id: 'a', device: 'sim:sw', name: 'on' }),
      { qos: 1 },
    );
    await cloud.client.publishAsync('fg/gw/commands/sim:sw', 'not json', { qos: 1 });
    await waitFor(() => received.length >= 2, 'both commands');
    expect(received[0]).toMatchObject({
      kind: 'command',
      command: { id: 'a', device: 'sim:sw', route: 'main' },
    });
    expect(received[1]).toMatchObject({ kind: 'invalid', device: 'sim:sw' });
    // One connection delivers in order: once a third command is in, a duplicate of the first would be too.
    await cloud.client.publishAsync('fg/gw/commands/sim:sw', JSON.stringify({ id: 'c', name: 'off' }), {
      qos: 1,
    });
    await waitFor(() => received.length >= 3, 'the third command');
    expect(received.map((r) => (r.kind === 'command' ? r.command.id : 'invalid'))).toEqual([
      'a',
      'invalid',
      'c',
    ]);
  });

  it('receives commands queued by the broker while the gateway was away (persistent session)', async () => {
    const { url } = await broker();
    const cloud = await cloudClient(url, []);
    const first = upstream(url);
    await first.connect(live());
    await first.close();

    await cloud.client.publishAsync(
      'fg/gw/commands/sim:sw',
      JSON.stringify({ id: 'while-away', name: 'on' }),
      { qos: 1 },
    );
    const second = upstream(url);
    const received: IncomingCommand[] = [];
    second.onCommand((incoming) => received.push(incoming));
    await second.connect(live());
    await waitFor(() => received.length === 1, 'the queued command');
    expect(received[0]).toMatchObject({ kind: 'command', command: { id: 'while-away' } });
  });

  it('keeps results while disconnected and publishes them after reconnecting', async () => {
    const first = await broker();
    const port = first.port;
    const gateway = upstream(first.url);
    await gateway.connect(live());
    await first.close();
    await waitFor(() => !gateway.isConnected, 'the connection to drop');
    await gateway.publishResult({ id: 'r1', device: 'sim:sw' }, { id: 'r1', status: 'ok' });

    const second = await broker({ port });
    const cloud = await cloudClient(second.url, ['fg/gw/results']);
    await gateway.connect(live());
    await waitFor(() => cloud.messages.length === 1, 'the held result');
    expect(JSON.parse(cloud.messages[0]!.payload.toString())).toMatchObject({
      id: 'r1',
      status: 'ok',
      device: 'sim:sw',
    });
  });

  it('never reports delivery of messages the broker did not take when it closes mid-stream', async () => {
    const mqttBroker = await broker();
    const cloud = await cloudClient(mqttBroker.url, ['fg/gw/telemetry']);
    // One reading per message and 5 messages/s: the send is still going when the broker goes.
    const gateway = upstream(mqttBroker.url, { maxMessageBytes: 150, maxMessagesPerSecond: 5 });
    await gateway.connect(live());

    const sending = gateway.send(envelopes(30), live());
    await waitFor(() => cloud.messages.length >= 3, 'the first messages');
    await mqttBroker.close();
    const result = await sending;

    expect(['retry', 'partial']).toContain(result.kind);
    const seen = new Set(cloud.messages.flatMap((m) => decodeBatch(m.payload).readings.map((r) => r.gseq)));
    if (result.kind === 'partial') {
      expect(result.acked.length).toBeLessThan(30);
      for (const gseq of result.acked) expect(seen.has(gseq)).toBe(true);
    }
    expect(gateway.isConnected).toBe(false);
  });

  it('keeps overlapping sends apart: in order on the wire, each acking only its own readings', async () => {
    const mqttBroker = await broker();
    const cloud = await cloudClient(mqttBroker.url, ['fg/gw/telemetry']);
    // One reading per message and 10 messages/s: both sends are still going when the broker goes.
    const gateway = upstream(mqttBroker.url, { maxMessageBytes: 150, maxMessagesPerSecond: 10 });
    await gateway.connect(live());
    const [first, second] = [envelopes(30).slice(0, 15), envelopes(30).slice(15)];

    const sending = [first, second].map((batch) => gateway.send(batch, live()));
    await waitFor(() => cloud.messages.length >= 6, 'messages of both sends');
    await mqttBroker.close();
    const results = await Promise.all(sending);

    const seen = cloud.messages.flatMap((m) => decodeBatch(m.payload).readings.map((r) => r.gseq));
    [first, second].forEach((batch, index) => {
      const gseqs = batch.map((e) => e.gseq);
      const arrived = seen.filter((gseq) => gseqs.includes(gseq));
      expect(arrived.length).toBeGreaterThan(0);
      expect(arrived).toEqual(gseqs.slice(0, arrived.length));
      const result = results[index]!;
      expect(['retry', 'partial']).toContain(result.kind);
      if (result.kind === 'partial') {
        for (const gseq of result.acked) expect(arrived).toContain(gseq);
      }
    });
  });

  it('still connects and delivers telemetry when the broker refuses the command subscription', async () => {
    const { url } = await broker({ refusedFilters: ['fg/gw/commands/#'] });
    const cloud = await cloudClient(url, ['fg/gw/telemetry']);
    const gateway = upstream(url);
    await gateway.connect(live());

    expect(gateway.isConnected).toBe(true);
    expect(await gateway.send(envelopes(3), live())).toEqual({ kind: 'ok' });
    await waitFor(() => cloud.messages.length === 1, 'the batch');
  });

  it('classifies refused credentials as a retryable auth failure', async () => {
    const { url } = await broker({ credentials: { username: 'gw', password: 'right' } });
    const wrong = upstream(url, { username: 'gw', password: 'wrong' });
    const error = await wrong.connect(live()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);

    const right = upstream(url, { username: 'gw', password: 'right' });
    await right.connect(live());
    expect(right.isConnected).toBe(true);
  });

  it('fails to connect with a config error when a TLS file cannot be read', async () => {
    const gateway = upstream(
      'mqtts://127.0.0.1:1',
      { tls: { caFile: '/nonexistent/ca.pem', rejectUnauthorized: true } },
      () => Promise.reject(new Error('ENOENT')),
    );
    await expect(gateway.connect(live())).rejects.toMatchObject({ code: 'FG_CONFIG_SECRET_MISSING' });
  });
});
