import type { AedesPublishPacket } from 'aedes';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { AwsUpstreamConfig } from '../../src/config/upstreams/aws.js';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../emulators/aws/index.js';
import {
  DISCARDED_TOPIC,
  EMULATOR_SERVER_NAMES,
  startAwsEmulator,
  type AwsEmulator,
} from '../../emulators/aws/index.js';

let authority: Promise<{ ca: KeyPair; server: KeyPair }> | undefined;

/** One CA and endpoint certificate per test file: minting them is the slow part of starting an emulator. */
function testAuthority(): Promise<{ ca: KeyPair; server: KeyPair }> {
  authority ??= (async () => {
    const ca = await createCertificateAuthority('fieldgate test CA (test only)');
    const server = await issueCertificate(ca, {
      commonName: 'localhost',
      usage: 'server',
      altNames: EMULATOR_SERVER_NAMES,
    });
    return { ca, server };
  })();
  return authority;
}

/** An AWS IoT Core emulator on loopback with free ports, plus the cloud side's view of it. */
export interface TestCloud {
  emulator: AwsEmulator;
  /** Messages device connections and HTTPS publishes put on the broker, in arrival order. */
  messages: { topic: string; payload: Buffer }[];
  /** The cloud publishes to a device-side topic (a command request, say) at QoS 1. */
  publish(topic: string, payload: string | Buffer): Promise<void>;
  close(): Promise<void>;
}

export async function startTestCloud(
  options: {
    log?: Logger;
    connectDenial?: 'close' | 'connack';
    jobsMinuteMs?: number;
    shadowLatencyMs?: number;
    now?: () => number;
    requireAlpn?: boolean;
    /** Also serve the service APIs (SigV4 over HTTPS) on a free port. */
    serviceApi?: boolean;
  } = {},
): Promise<TestCloud> {
  const { ca, server } = await testAuthority();
  const emulator = await startAwsEmulator({
    host: '127.0.0.1',
    mqttPort: 0,
    httpsPort: 0,
    log: options.log ?? silentLogger(),
    ca,
    server,
    ...(options.connectDenial === undefined ? {} : { connectDenial: options.connectDenial }),
    ...(options.jobsMinuteMs === undefined ? {} : { jobsMinuteMs: options.jobsMinuteMs }),
    ...(options.shadowLatencyMs === undefined ? {} : { shadowLatencyMs: options.shadowLatencyMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.requireAlpn === undefined ? {} : { requireAlpn: options.requireAlpn }),
    ...(options.serviceApi === true ? { dataPort: 0 } : {}),
  });
  const messages: TestCloud['messages'] = [];
  const observe = (packet: AedesPublishPacket, done: () => void): void => {
    // A publish IoT Core would have discarded never reached the broker.
    if (packet.topic === DISCARDED_TOPIC) {
      done();
      return;
    }
    messages.push({ topic: packet.topic, payload: Buffer.from(packet.payload) });
    done();
  };
  await new Promise<void>((resolve) => emulator.broker.aedes.subscribe('#', observe, resolve));
  await new Promise<void>((resolve) => emulator.broker.aedes.subscribe('$aws/#', observe, resolve));
  return {
    emulator,
    messages,
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) =>
        emulator.broker.aedes.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
          (e) => (e ? reject(e) : resolve()),
        ),
      ),
    close: () => emulator.close(),
  };
}

/** Files an upstream under test reads, served from memory: `device.crt`, `device.key`, `ca.crt`. */
export function memoryFiles(device: KeyPair, ca: KeyPair): (path: string) => Promise<Buffer> {
  const files: Record<string, string> = {
    'device.crt': device.certPem,
    'device.key': device.keyPem,
    'ca.crt': ca.certPem,
  };
  return (path) => {
    const content = files[path];
    if (content === undefined) {
      return Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' }));
    }
    return Promise.resolve(Buffer.from(content));
  };
}

/** An upstream config for the test cloud; `servername` is needed because Node sends no SNI for an IP. */
export function awsConfigFor(
  cloud: TestCloud,
  overrides: Partial<AwsUpstreamConfig> = {},
): AwsUpstreamConfig {
  return {
    type: 'aws',
    endpoint: '127.0.0.1',
    port: cloud.emulator.mqttPort,
    servername: 'localhost',
    transport: 'mqtt',
    httpsPort: cloud.emulator.httpsPort,
    tls: { certFile: 'device.crt', keyFile: 'device.key', caFile: 'ca.crt' },
    persistentSession: true,
    mqttVersion: '3.1.1',
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
    shadows: {
      mode: 'named',
      name: '{device}',
      minIntervalMs: 1000,
      maxUpdatesPerSecond: 18,
      desired: { state: { arg: 'value', values: { true: 'on', false: 'off' } } },
    },
    ...overrides,
  };
}
