import { once } from 'node:events';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../logger.js';
import { loadEmulator } from '../load-emulator.js';

interface EmulateAwsOptions {
  dir: string;
  host: string;
  port: number;
  httpsPort: number;
  servicePort?: number;
  thing: string[];
  connectDenial: 'close' | 'connack';
  showReadings?: boolean;
  jobsDir?: string;
}

/**
 * `fieldgate emulate aws`: a local, device-side AWS IoT Core (MQTT with mutual TLS, policies, limits,
 * HTTPS publish). Its CA, certificates and registry live in `--dir`; every `--thing` gets a certificate
 * minted and registered on first use, and the route config to reach it is printed.
 */
export function registerEmulateAws(emulate: Command): void {
  emulate
    .command('aws')
    .description('run a local AWS IoT Core emulator (mutual TLS, policies, broker limits, HTTPS publish)')
    .option('--dir <path>', 'state directory: CA, certificates, registry', './aws-emulator')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'MQTT port (IoT Core uses 8883)', toPort, 8883)
    .option('--https-port <port>', 'HTTPS publish port (IoT Core uses 8443)', toPort, 8443)
    .option(
      '--service-port <port>',
      'also serve the service APIs (shadows, Publish, CreateJob, DescribeJobExecution) over HTTPS with SigV4, for the AWS SDK',
      toPort,
    )
    .option('--thing <name>', 'register a gateway thing (repeatable)', collect, [])
    .option(
      '--connect-denial <how>',
      'answer a refused CONNECT by closing (close) or CONNACK 5 (connack)',
      toDenial,
      'close',
    )
    .option(
      '--show-readings',
      'print every telemetry reading received, inflated when gzipped, as one JSON line',
    )
    .option(
      '--jobs-dir <path>',
      'create IoT Jobs from files <path>/<thing>/<jobId>.json holding the job document (default <dir>/jobs)',
    )
    .action(async (options: EmulateAwsOptions) => {
      // Loaded only for this verb, so the daemon and the other verbs never carry the emulator in memory.
      const { openEmulatorState, startAwsEmulator, startJobInbox, EMULATOR_SERVICE_CREDENTIALS } =
        await loadEmulator('fieldgate emulate aws', 'FG_USAGE', () => import('../../emulators/aws/index.js'));
      const log = createLogger({ level: 'info' });
      const state = await openEmulatorState(options.dir);
      const things = options.thing.length > 0 ? options.thing : ['fieldgate-demo'];
      for (const thing of things) {
        const files = await state.ensureThing(thing);
        process.stdout.write(
          [
            `Thing ${thing} — route upstream for fieldgate.yaml:`,
            `  type: aws`,
            `  endpoint: ${options.host}`,
            `  port: ${options.port}`,
            `  servername: localhost`,
            `  thingName: ${thing}`,
            `  tls: { certFile: ${files.certFile}, keyFile: ${files.keyFile}, caFile: ${files.caFile} }`,
            '',
          ].join('\n'),
        );
      }
      await state.save();
      const emulator = await startAwsEmulator({
        host: options.host,
        mqttPort: options.port,
        httpsPort: options.httpsPort,
        log,
        ca: state.ca,
        server: state.server,
        registry: state.registry,
        connectDenial: options.connectDenial,
        ...(options.servicePort === undefined ? {} : { dataPort: options.servicePort }),
      });
      log.info(
        { mqttPort: emulator.mqttPort, httpsPort: emulator.httpsPort },
        'AWS IoT Core emulator listening.',
      );
      if (emulator.dataPort !== undefined) {
        log.info(
          {
            endpoint: `https://${options.host}:${emulator.dataPort}`,
            region: 'us-east-1',
            ...EMULATOR_SERVICE_CREDENTIALS,
            ca: path.join(options.dir, 'ca.crt'),
          },
          'Service APIs listening (SigV4 with these test credentials; trust the emulator CA).',
        );
      }
      const jobsDir = options.jobsDir ?? path.join(options.dir, 'jobs');
      const jobInbox = await startJobInbox({ dir: jobsDir, jobs: emulator.jobs, log });
      log.info({ jobsDir }, 'Create a job: write its document to <jobs dir>/<thing>/<jobId>.json.');
      if (options.showReadings === true) {
        const { decodeBatch } = await import('../upstream/common/batch-payload.js');
        // Every publish that reaches the broker, MQTT or HTTPS; a fieldgate batch (gzip is recognised by
        // its magic bytes, whatever the topic says) is printed reading by reading, anything else skipped.
        emulator.broker.aedes.subscribe(
          '#',
          (packet, done) => {
            try {
              const batch = decodeBatch(Buffer.from(packet.payload));
              for (const reading of batch.readings) process.stdout.write(`${JSON.stringify(reading)}\n`);
            } catch {
              // Not a telemetry batch (a shadow or job message): not a reading.
            }
            done();
          },
          () => undefined,
        );
      }
      await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      log.info(emulator.meter.read(), 'Stopping; metering counters so far.');
      await jobInbox.close();
      await emulator.close();
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function toPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
}

function toDenial(value: string): 'close' | 'connack' {
  if (value !== 'close' && value !== 'connack') throw new InvalidArgumentError('expected close or connack');
  return value;
}
