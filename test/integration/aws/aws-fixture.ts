import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KeyPair } from '../../../emulators/aws/index.js';
import { decodeBatch, type WireReading } from '../../../src/upstream/common/batch-payload.js';
import { startTestCloud, type TestCloud } from '../../fakes/aws-cloud.js';
import { Daemon, makeWorkdir, testConfig } from '../support/daemon.js';

/** The gateway thing every AWS daemon test connects as (`testConfig`'s gateway id). */
export const THING = 'it';

/**
 * What the AWS daemon tests share: a work dir, the IoT Core emulator with a certificate minted for thing
 * `it`, and at most one daemon whose `aws` route goes to the emulator. `close` stops what was started.
 */
export class AwsWorld {
  daemon: Daemon | undefined;

  private constructor(
    readonly work: Awaited<ReturnType<typeof makeWorkdir>>,
    readonly cloud: TestCloud,
    readonly device: KeyPair,
  ) {}

  static async create(cloudOptions: Parameters<typeof startTestCloud>[0] = {}): Promise<AwsWorld> {
    const work = await makeWorkdir();
    const cloud = await startTestCloud(cloudOptions);
    return new AwsWorld(work, cloud, await cloud.emulator.mintDevice(THING));
  }

  /** Start the daemon; `upstream` is merged over the route's emulator upstream block. */
  async startDaemon(upstream: Record<string, unknown> = {}): Promise<Daemon> {
    const file = (name: string) => path.join(this.work.dir, name);
    await writeFile(file('it.crt'), this.device.certPem);
    await writeFile(file('it.key'), this.device.keyPem, { mode: 0o600 });
    await writeFile(file('ca.crt'), this.cloud.emulator.ca.certPem);
    const config = testConfig(this.work.dir, 0, {
      routes: {
        aws: {
          upstream: {
            type: 'aws',
            endpoint: '127.0.0.1',
            port: this.cloud.emulator.mqttPort,
            servername: 'localhost',
            tls: { certFile: file('it.crt'), keyFile: file('it.key'), caFile: file('ca.crt') },
            ackTimeoutMs: 2000,
            ...upstream,
          },
          batch: { maxItems: 200 },
          backoff: { initialMs: 100, maxMs: 500 },
        },
      },
    });
    this.daemon = await Daemon.start(this.work.dir, config);
    return this.daemon;
  }

  /** The telemetry messages the cloud got from the thing, on its topic or a per-device one below it. */
  telemetry(): TestCloud['messages'] {
    const topic = `dt/fieldgate/${THING}`;
    return this.cloud.messages.filter((m) => m.topic === topic || m.topic.startsWith(`${topic}/`));
  }

  /** Every reading in those messages, in arrival order, with the topic it came on. */
  readings(): (WireReading & { topic: string })[] {
    return this.telemetry().flatMap((m) =>
      decodeBatch(m.payload).readings.map((r) => ({ ...r, topic: m.topic })),
    );
  }

  readingsOf(device: string): WireReading[] {
    return this.readings().filter((r) => r.device === device);
  }

  async close(): Promise<void> {
    await this.daemon?.stop();
    await this.cloud.close();
    await this.work.cleanup();
  }
}
