import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { HubRegistry } from '../../emulators/azure/index.js';
import { FieldgateError } from '../errors.js';
import { createLogger } from '../logger.js';
import { loadEmulator } from '../load-emulator.js';

interface EmulateAzureOptions {
  registry?: string;
  host: string;
  port: number;
  amqpPort?: number;
  httpsPort?: number;
  servicePort?: number;
  tlsCert?: string;
  tlsKey?: string;
  d2cPerSecond?: number;
  dailyQuotaUnits?: number;
  showReadings?: boolean;
}

const DEMO_DEVICE = 'fieldgate-demo';
const SERVICE_POLICY = 'iothubowner';

/**
 * `fieldgate emulate azure`: a local, device-side IoT Hub for development and the demo config. Without
 * `--registry` it registers one device, `fieldgate-demo`, with a fresh key that it prints once.
 */
export function registerEmulateAzure(emulate: Command): void {
  emulate
    .command('azure')
    .description(
      'run a local Azure IoT Hub emulator (MQTT, AMQP, HTTPS, SAS and X.509, C2D, methods, throttles)',
    )
    .option('--registry <file>', 'YAML registry: hostName, devices (keys, thumbprints), policies')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (the hub uses 8883)', toInteger, 8883)
    .option('--amqp-port <port>', 'also speak AMQP 1.0 on this port (the hub uses 5671)', toInteger)
    .option(
      '--https-port <port>',
      'also serve the HTTPS device API on this port (the hub uses 443)',
      toInteger,
    )
    .option(
      '--service-port <port>',
      'also serve the service side (azure-iothub: C2D, feedback, methods, twins) on this port; needs --tls-cert',
      toInteger,
    )
    .option('--tls-cert <file>', 'PEM server certificate (MQTT over TLS, as the hub speaks it)')
    .option('--tls-key <file>', 'PEM key of --tls-cert')
    .option('--d2c-per-second <n>', 'throttle D2C messages (429 past it)', toInteger)
    .option('--daily-quota-units <n>', 'daily quota in 4 KB units (403002 past it)', toInteger)
    .option('--show-readings', 'print every reading received, inflated when gzipped, as one JSON line')
    .action(async (options: EmulateAzureOptions) => {
      // Loaded only for this verb, so the daemon and the other verbs never carry the emulator in memory.
      const { AzureHubEmulator, HubRegistry, summarizeD2c } = await loadEmulator(
        'fieldgate emulate azure',
        'FG_USAGE',
        () => import('../../emulators/azure/index.js'),
      );
      const log = createLogger({ level: 'info' });
      const registry =
        options.registry === undefined
          ? demoRegistry(new HubRegistry())
          : await HubRegistry.load(options.registry);
      const tls =
        options.tlsCert === undefined || options.tlsKey === undefined
          ? undefined
          : { cert: await readFile(options.tlsCert), key: await readFile(options.tlsKey) };
      if (options.servicePort !== undefined && tls === undefined) {
        throw new FieldgateError(
          'FG_USAGE',
          '--service-port needs --tls-cert and --tls-key: the service SDK speaks only TLS',
        );
      }
      const hub = await AzureHubEmulator.start({
        registry,
        host: options.host,
        port: options.port,
        ...(options.amqpPort === undefined ? {} : { amqpPort: options.amqpPort }),
        ...(options.httpsPort === undefined ? {} : { httpsPort: options.httpsPort }),
        ...(options.servicePort === undefined ? {} : { servicePort: options.servicePort }),
        log,
        ...(tls === undefined ? {} : { tls }),
        ...(options.d2cPerSecond === undefined ? {} : { d2cPerSecond: options.d2cPerSecond }),
        ...(options.dailyQuotaUnits === undefined ? {} : { dailyQuotaUnits: options.dailyQuotaUnits }),
        onD2c: (record) => {
          const { readings, ...summary } = summarizeD2c(record);
          log.info({ ...summary, readings: readings?.length }, 'D2C message.');
          if (options.showReadings !== true) return;
          for (const reading of readings ?? []) process.stdout.write(`${JSON.stringify(reading)}\n`);
        },
      });
      if (tls === undefined) log.warn('No --tls-cert: plain MQTT, for loopback development only.');
      const serviceConnectionString = hub.serviceConnectionString(SERVICE_POLICY);
      if (serviceConnectionString !== undefined) {
        // Printed once on purpose, like the demo device's: a throw-away key of a local emulator.
        process.stdout.write(`Service connection string: ${serviceConnectionString}\n`);
      }
      await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      log.info(hub.counters(), 'Stopping; D2C counters so far.');
      await hub.close();
    });
}

function demoRegistry(registry: HubRegistry): HubRegistry {
  const key = randomBytes(32).toString('base64');
  registry.addDevice(DEMO_DEVICE, { primaryKey: key });
  // The hub's own default policy, for a service app on `--service-port`.
  registry.addPolicy(SERVICE_POLICY, {
    key: randomBytes(32).toString('base64'),
    permissions: ['ServiceConnect', 'RegistryRead', 'RegistryWrite', 'DeviceConnect'],
  });
  // Printed once on purpose: this is a throw-away key of a local emulator, and the user needs it.
  process.stdout.write(
    `Registered ${DEMO_DEVICE} on ${registry.hostName}.\nConnection string: HostName=${registry.hostName};DeviceId=${DEMO_DEVICE};SharedAccessKey=${key}\n`,
  );
  return registry;
}

function toInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}
