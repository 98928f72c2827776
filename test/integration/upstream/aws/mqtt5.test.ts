import { Writable } from 'node:stream';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyPair } from '../../../../emulators/aws/index.js';
import { createLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { AwsUpstream } from '../../../../src/upstream/aws/aws-upstream.js';
import { decodeBatch } from '../../../../src/upstream/common/batch-payload.js';
import type { IncomingCommand } from '../../../../src/upstream/upstream.js';
import { memoryFiles } from '../../../fakes/aws-cloud.js';
import { startMosquittoTls, type MosquittoTls } from '../../../fakes/mosquitto-tls.js';
import { waitFor } from '../../../fakes/wait-for.js';

const live = (): AbortSignal => new AbortController().signal;
const envelope = (gseq: number): Envelope => ({
  gseq,
  reading: { device: 'sim:thermo-01', ts: 1_700_000_000_000 + gseq, values: { temperature: 21.5 } },
});

/** WARN lines the upstream logged, parsed. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.level === 40) warnings.push(entry);
      }
      done();
    },
  });
  return { log: createLogger({ level: 'warn', destination }), warnings };
}

describe('AwsUpstream over MQTT 5 (Mosquitto 2, mutual TLS, certificate CN as identity)', () => {
  let broker: MosquittoTls;
  let gateway: KeyPair;
  const clients: MqttClient[] = [];
  const upstreams: AwsUpstream[] = [];

  const create = (log = capturingLogger().log): AwsUpstream => {
    const upstream = new AwsUpstream({
      config: {
        type: 'aws',
        endpoint: '127.0.0.1',
        port: broker.port,
        servername: 'localhost',
        transport: 'mqtt',
        httpsPort: 8443,
        tls: { certFile: 'device.crt', keyFile: 'device.key', caFile: 'ca.crt' },
        persistentSession: true,
        mqttVersion: '5',
        keepaliveS: 60,
        jobs: { enabled: false },
        topics: {
          telemetry: 'dt/fieldgate/{gateway}/{device}',
          commandRequest: 'cmd/fieldgate/{gateway}/{device}/req',
          commandResponse: 'cmd/fieldgate/{gateway}/{device}/res',
        },
        encoding: 'json',
        maxMessageBytes: 128 * 1024,
        maxMessagesPerSecond: 100,
        ackTimeoutMs: 5000,
        shadows: { mode: 'off', name: '{device}', minIntervalMs: 1000, maxUpdatesPerSecond: 18, desired: {} },
      },
      gatewayId: 'gw-1',
      route: 'aws',
      log,
      readFile: memoryFiles(gateway, broker.ca),
    });
    upstreams.push(upstream);
    return upstream;
  };
  /** A plain MQTT 5 client of the same broker, with its own certificate (and so its own identity). */
  const rawClient = async (pair: KeyPair, clientId: string): Promise<MqttClient> => {
    const client = await connectAsync({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: broker.port,
      servername: 'localhost',
      protocolVersion: 5,
      clientId,
      cert: pair.certPem,
      key: pair.keyPem,
      ca: broker.ca.certPem,
      reconnectPeriod: 0,
    });
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    broker = await startMosquittoTls(['max_packet_size 60000']);
    gateway = await broker.mintClient('gw-1');
  });
  afterEach(async () => {
    await Promise.all(upstreams.splice(0).map((u) => u.close()));
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker.stop();
  });

  it('publishes telemetry, and keeps its session an hour so commands sent while offline arrive', async () => {
    const observer = await rawClient(await broker.mintClient('observer'), 'observer');
    const seen: Buffer[] = [];
    observer.on('message', (_topic, payload) => seen.push(payload));
    await observer.subscribeAsync('dt/fieldgate/gw-1/#', { qos: 1 });

    const first = create();
    await first.connect(live());
    expect(await first.send([envelope(1), envelope(2)], live())).toEqual({ kind: 'ok' });
    await waitFor(() => seen.length === 1, 'the telemetry at the observer');
    expect(decodeBatch(seen[0]!).readings.map((r) => r.gseq)).toEqual([1, 2]);
    await first.close();

    // Offline: with a session expiry of 0 (MQTT 5's default) the broker would forget the subscription.
    await observer.publishAsync(
      'cmd/fieldgate/gw-1/sim:switch-01/req',
      JSON.stringify({ id: 'c1', name: 'on' }),
      {
        qos: 1,
      },
    );
    const commands: IncomingCommand[] = [];
    const second = create();
    second.onCommand((incoming) => commands.push(incoming));
    await second.connect(live());
    await waitFor(() => commands.length === 1, 'the command queued while offline');
    expect(commands[0]).toMatchObject({ kind: 'command', command: { id: 'c1', name: 'on' } });
  });

  it('answers kicked after a second client takes its client id over, so the forwarder backs off', async () => {
    // Mosquitto 2.0 closes the old connection without a DISCONNECT; IoT Core sends reason 0x8E (see
    // disconnect-reason.test.ts): both count as a takeover.
    const { log, warnings } = capturingLogger();
    const upstream = create(log);
    await upstream.connect(live());
    await rawClient(gateway, 'gw-1');
    await waitFor(() => !upstream.isConnected, 'the upstream to lose its session');
    expect(await upstream.send([envelope(1)], live())).toMatchObject({ kind: 'retry', kicked: true });
    expect(upstream.stats().takeovers).toBe(1);
    expect(warnings).toHaveLength(1);
  });

  it('logs another DISCONNECT reason code and does not take it for a takeover', async () => {
    const { log, warnings } = capturingLogger();
    const upstream = create(log);
    await upstream.connect(live());
    // One device's backlog packs into a message larger than this broker's 60,000-byte packet limit.
    const backlog = Array.from({ length: 1500 }, (_, i) => envelope(i + 1));
    expect(await upstream.send(backlog, live())).toMatchObject({ kind: 'retry' });
    await waitFor(() => !upstream.isConnected, 'the broker to disconnect the upstream');
    expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'retry', reason: 'offline' });
    expect(upstream.stats().takeovers).toBe(0);
    expect(warnings).toContainEqual(expect.objectContaining({ reason: '0x95 packet too large' }));
  });
});
