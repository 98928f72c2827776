import { z } from 'zod';
import { secret } from './secret-fields.js';
import { serviceUrl } from './service-url.js';
import { adapterOptionsSchemas, adapterSetIssues } from '../../adapters/registry.js';
import { awsUpstreamSchema } from './upstreams/aws.js';
import { azureUpstreamSchema } from './upstreams/azure.js';
import { webSchema } from './web.js';
import { devicesSection } from './devices.js';

/**
 * The configuration schema: the single source of truth for types, defaults, validation and documentation
 * (docs/architecture.md#configuration-and-reload). `config/fieldgate.schema.json` is generated from it
 * (`npm run schema`), and the annotated
 * reference in `docs/configuration.example.yaml` must cover every key (a test checks).
 */

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A byte size: a number, or a string such as `256MB` or `1GiB`. */
export const byteSize = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|kib|mib|gib)\s*$/i, 'expected a size such as 512MB or 1GiB')
    .transform((s) => {
      const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(s)!;
      return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
    }),
]);

const ms = (description: string) => z.number().int().nonnegative().describe(description);
const globs = (description: string) => z.array(z.string().min(1)).default([]).describe(description);

export const deviceMatch = z
  .strictObject({
    devices: globs('Device id globs (`sim:thermo-*`); empty matches every device.'),
    adapters: globs('Adapter names; empty matches every adapter.'),
    values: globs('Value name globs; empty matches every value.'),
  })
  .describe('Selects readings by device, adapter and value name.');

/**
 * One adapter entry: `type` and `enabled`, which the host reads, then the options the radio declares in its
 * own `adapters/<type>/options.ts` (the adapter receives those, parsed).
 */
function adapterEntry<const Type extends string, Shape extends z.ZodRawShape>(
  type: Type,
  options: z.ZodObject<Shape, z.core.$strict>,
) {
  return z
    .strictObject({
      type: z.literal(type),
      enabled: z.boolean().default(true).describe('Start this adapter.'),
    })
    .extend(options.shape);
}

export const adapterConfig = z.discriminatedUnion('type', [
  adapterEntry('sim', adapterOptionsSchemas.sim),
  adapterEntry('ble', adapterOptionsSchemas.ble),
  adapterEntry('zigbee', adapterOptionsSchemas.zigbee),
  adapterEntry('zwave', adapterOptionsSchemas.zwave),
]);

const tls = z
  .strictObject({
    caFile: z.string().optional().describe('PEM CA bundle to trust.'),
    certFile: z.string().optional().describe('PEM client certificate.'),
    keyFile: z.string().optional().describe('PEM client private key.'),
    rejectUnauthorized: z.boolean().default(true).describe('Verify the server certificate.'),
    servername: z.string().optional().describe('SNI server name, when it differs from the URL host.'),
  })
  .describe('TLS options for mqtts:// URLs.');

const mqttUpstream = z.strictObject({
  type: z.literal('mqtt'),
  url: secret(serviceUrl(['mqtt', 'mqtts', 'ws', 'wss', 'tcp', 'ssl']), 'url'),
  clientId: z.string().optional().describe('MQTT client id; default `fieldgate-{gateway}`.'),
  username: z.string().optional(),
  password: secret(z.string()).optional().describe('Use `!secret name` or `${ENV}`; never write it inline.'),
  passwordFile: z
    .string()
    .optional()
    .describe('File whose trimmed contents become `password` (a systemd credential, say).'),
  tls: tls.optional(),
  keepaliveS: z.number().int().min(5).max(1200).default(60).describe('MQTT keep-alive in seconds.'),
  topics: z
    .strictObject({
      telemetry: z
        .string()
        .default('fieldgate/{gateway}/telemetry')
        .describe(
          'Where batches are published; with `{device}` (the id) or `{name}` (its name, else the id), one topic per device.',
        ),
      commands: z
        .string()
        .default('fieldgate/{gateway}/commands')
        .describe('Commands arrive here, and on `<commands>/<device>`.'),
      results: z
        .string()
        .default('fieldgate/{gateway}/results')
        .describe('One result per command is published here.'),
    })
    .prefault({})
    .describe('Topic templates; `{gateway}` is replaced by the gateway id.'),
  encoding: z.enum(['json', 'json+gzip']).default('json').describe('Batch payload encoding.'),
  maxMessageBytes: byteSize.default(256 * 1024).describe('Largest payload the broker accepts.'),
  maxMessagesPerSecond: z.number().positive().default(1000).describe('Publish rate limit per connection.'),
  ackTimeoutMs: ms('How long to wait for a PUBACK before the batch is retried.').default(10_000),
});

export const upstreamConfig = z.discriminatedUnion('type', [
  mqttUpstream,
  awsUpstreamSchema,
  azureUpstreamSchema,
]);

export const routeConfig = z.strictObject({
  upstream: upstreamConfig.describe('Where this route forwards to: one forwarder, one connection.'),
  match: deviceMatch.prefault({}).describe('Which readings this route takes.'),
  drain: z
    .enum(['fifo', 'liveFirst'])
    .default('liveFirst')
    .describe('After an outage, liveFirst gives part of each send cycle to the newest data.'),
  liveShare: z
    .number()
    .min(0)
    .max(1)
    .default(0.25)
    .describe('With liveFirst: share of batches that carry newest data.'),
  batch: z
    .strictObject({
      maxItems: z.number().int().positive().default(500).describe('Readings per message at most.'),
      maxBytes: byteSize.default(64 * 1024).describe('Encoded bytes per message at most (before gzip).'),
    })
    .prefault({}),
  maxInFlight: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('Batches awaiting the cloud acknowledgement at once (capped by what the upstream supports).'),
  ttlMs: ms('Readings older than this are dropped at lease time (counted); 0 keeps them forever.').default(0),
  backoff: z
    .strictObject({
      initialMs: ms('First retry delay.').default(1000),
      maxMs: ms('Longest retry delay.').default(60_000),
    })
    .prefault({}),
});

export const configSchema = z
  .strictObject({
    gateway: z
      .strictObject({
        id: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only')
          .optional()
          .describe('Gateway id, in every payload and topic; default the host name.'),
        stateDir: z
          .string()
          .default('/var/lib/fieldgate')
          .describe('Where the queue and learned state live.'),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        format: z
          .enum(['auto', 'json', 'pretty', 'journal'])
          .default('auto')
          .describe(
            'How log lines look: `pretty` for a person, `journal` for journald (priority prefixes), `json`; ' +
              '`auto` picks pretty on a terminal, journal under systemd, else json.',
          ),
      })
      .prefault({}),
    adapters: z
      .record(z.string().regex(/^[a-z][a-z0-9-]*$/), adapterConfig)
      .superRefine((adapters, ctx) => {
        for (const { name, message } of adapterSetIssues(adapters))
          ctx.addIssue({ code: 'custom', path: [name, 'type'], message });
      })
      .default({})
      .describe('Radios by name; the name is the `<adapter>` part of device ids.'),
    devices: devicesSection,
    pipeline: z
      .strictObject({
        filter: z
          .strictObject({
            include: deviceMatch.prefault({}).describe('Only these readings enter the pipeline.'),
            exclude: deviceMatch
              .extend({
                devices: globs('Device globs to drop.'),
                adapters: globs('Adapters to drop.'),
                values: globs('Values to drop.'),
              })
              .prefault({})
              .describe('Values or devices dropped before anything else (an empty list drops nothing).'),
            deadband: z
              .record(z.string(), z.number().nonnegative())
              .default({})
              .describe('Per value name: a numeric change smaller than this is not forwarded.'),
            minIntervalMs: ms('Per device and value: forward at most once per interval.').default(0),
            reportOnChange: z.boolean().default(false).describe('Forward a value only when it changed.'),
            heartbeatMs: ms(
              'With deadband or reportOnChange: forward unchanged values at least this often.',
            ).default(0),
          })
          .prefault({}),
        aggregate: z
          .strictObject({
            windowMs: ms('Tumbling window length; 0 disables aggregation.').default(0),
            match: deviceMatch.prefault({}).describe('Which readings are aggregated; the rest pass through.'),
            functions: z
              .array(z.enum(['mean', 'min', 'max', 'sum', 'count', 'last']))
              .min(1)
              .default(['mean', 'min', 'max'])
              .describe(
                'For numeric values; each becomes `<value><Fn>` (temperatureMean). Others keep the last.',
              ),
          })
          .prefault({}),
      })
      .prefault({}),
    routes: z
      .record(z.string().regex(/^[a-z][a-z0-9-]*$/), routeConfig)
      .default({})
      .describe('Each route is one upstream with its own queue keyspace and forwarder.'),
    queue: z
      .strictObject({
        commitIntervalMs: ms('Group commit: the longest a reading waits to become durable.').default(200),
        commitMaxItems: z
          .number()
          .int()
          .positive()
          .default(2000)
          .describe('Commit earlier when this many wait.'),
        durability: z
          .enum(['sync', 'relaxed'])
          .default('sync')
          .describe(
            'sync fsyncs every commit; relaxed leaves it to the OS (faster, loses more on power cut).',
          ),
        maxBytes: byteSize.default(256 * 1024 ** 2).describe('Quota for all routes together.'),
        minFreeBytes: byteSize
          .default(64 * 1024 ** 2)
          .describe('Keep at least this much free on the state disk.'),
        overflow: z.enum(['dropOldest', 'dropNewest', 'block']).default('dropOldest'),
      })
      .prefault({}),
    commands: z
      .strictObject({
        defaultTtlMs: ms('TTL for commands that carry none.').default(3_600_000),
        maxPerDevice: z.number().int().positive().default(50).describe('Pending commands held per device.'),
        maxHeld: z
          .number()
          .int()
          .positive()
          .default(1000)
          .describe('Pending commands held over all devices; beyond it new ones are rejected.'),
        maxIdLength: z
          .number()
          .int()
          .min(36)
          .max(4096)
          .default(256)
          .describe('Longest command id in characters; longer ones are rejected (docs/commands.md).'),
        maxArgsBytes: byteSize.default(4096).describe('Larger commands are rejected.'),
        intake: z
          .strictObject({
            ratePerS: z
              .number()
              .positive()
              .default(50)
              .describe('Commands per second each route takes; the excess is refused and counted.'),
            burst: z
              .number()
              .int()
              .positive()
              .default(200)
              .describe('Commands a route takes at once after a quiet spell (a fan-out to many devices).'),
            maxInFlight: z
              .number()
              .int()
              .positive()
              .default(1000)
              .describe('Commands per route the router may hold unfinished (held for sleeping devices too).'),
          })
          .prefault({})
          .describe('Bounds on commands arriving from the cloud; see docs/inbound-limits.md.'),
      })
      .prefault({}),
    control: z
      .strictObject({
        socket: z
          .string()
          .default('/run/fieldgate/control.sock')
          .describe('Unix socket of the control plane used by the CLI; an empty string disables it.'),
        group: z
          .string()
          .regex(/^$|^[A-Za-z0-9._][A-Za-z0-9._-]*$/, 'a group name or number, or an empty string')
          .optional()
          .describe(
            'Group given the socket (mode 0660): its members may use the CLI. Default `fieldgate-cli` when that group exists; an empty string keeps the daemon’s own group.',
          ),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        listen: z
          .string()
          .regex(/^$|^[^\s]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464, or an empty string')
          .refine(
            (listen) => listen === '' || Number(listen.slice(listen.lastIndexOf(':') + 1)) <= 65535,
            'the port is out of range (0–65535)',
          )
          .default('')
          .describe(
            'host:port for Prometheus `/metrics`, `/healthz` and `/readyz` (e.g. `127.0.0.1:9464`); empty: off.',
          ),
      })
      .prefault({}),
    web: webSchema.describe('The local status page (docs/status-page.md); off by default.'),
    emulators: z
      .strictObject({
        mqtt: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe('Start an MQTT broker in-process (demo, development).'),
            host: z
              .string()
              .default('127.0.0.1')
              .describe(
                'Address to bind; anything but loopback is reachable from the network (a WARN says so).',
              ),
            port: z.number().int().min(0).max(65535).default(1883),
            username: z
              .string()
              .min(1)
              .optional()
              .describe('With `password`: the only login the broker accepts.'),
            password: secret(z.string().min(1))
              .optional()
              .describe(
                'With `username`; use `!secret name` or `${ENV}`. Without both, anyone who reaches it may connect.',
              ),
          })
          .refine((broker) => (broker.username === undefined) === (broker.password === undefined), {
            message: 'username and password go together: set both, or neither',
            path: ['password'],
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .describe('fieldgate configuration');

export type Config = z.output<typeof configSchema>;
export type AdapterConfig = z.output<typeof adapterConfig>;
export type RouteConfig = z.output<typeof routeConfig>;
export type UpstreamConfig = z.output<typeof upstreamConfig>;
export type DeviceMatch = z.output<typeof deviceMatch>;
