import { z } from 'zod';

/**
 * Options of the AWS IoT Core upstream (`routes.<name>.upstream` with `type: aws`). Limits default to
 * IoT Core's own (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits) and may only be lowered: going above
 * them earns disconnects.
 */

/** IoT Core's per-PUBLISH payload limit (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits). */
export const AWS_MAX_PAYLOAD_BYTES = 128 * 1024;
/**
 * IoT Core's publish rate per connection, inbound and outbound together
 * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits).
 */
export const AWS_MAX_PUBLISHES_PER_SECOND = 100;
/** IoT Core's Device Shadow request rate per thing (docs/clouds/aws-iot-core.md#device-shadow). */
export const AWS_SHADOW_REQUESTS_PER_SECOND = 20;

const topicTemplate = (fallback: string, description: string) =>
  z.string().min(1).default(fallback).describe(description);

export const awsUpstreamSchema = z.strictObject({
  type: z.literal('aws'),
  endpoint: z
    .string()
    .min(1)
    .describe('IoT Core data endpoint host (`xxxx-ats.iot.<region>.amazonaws.com`), or the emulator.'),
  port: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(8883)
    .describe('MQTT port: 8883, or 443 (then ALPN `x-amzn-mqtt-ca` is offered).'),
  servername: z
    .string()
    .min(1)
    .optional()
    .describe('TLS SNI name; default the endpoint. IoT Core refuses connections without SNI.'),
  thingName: z
    .string()
    .regex(/^[a-zA-Z0-9:_-]{1,128}$/, 'letters, digits, colon, dash and underscore; at most 128')
    .optional()
    .describe('The gateway thing name, also the MQTT client id; default the gateway id.'),
  transport: z
    .enum(['mqtt', 'https'])
    .default('mqtt')
    .describe('Telemetry over MQTT (commands too), or HTTPS publish (telemetry only, no commands).'),
  httpsPort: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(8443)
    .describe('HTTPS publish port: 8443, or 443 (then ALPN `x-amzn-http-ca` is offered).'),
  tls: z
    .strictObject({
      certFile: z.string().min(1).describe('PEM device certificate registered with IoT Core.'),
      keyFile: z.string().min(1).describe('PEM private key of that certificate (PKCS#1 or PKCS#8).'),
      caFile: z
        .string()
        .min(1)
        .optional()
        .describe('PEM CA bundle to trust (Amazon Root CA 1, or the emulator CA); default the system CAs.'),
    })
    .describe('Mutual TLS: IoT Core authenticates the gateway by its client certificate.'),
  persistentSession: z
    .boolean()
    .default(true)
    .describe(
      'cleanSession=false, so commands sent while offline wait (needs iot:Connect PersistentConnect).',
    ),
  mqttVersion: z
    .enum(['3.1.1', '5'])
    .default('3.1.1')
    .describe(
      'MQTT protocol version. 5: a persistent session is kept for 1 h after a disconnect (session expiry) and a takeover is told apart from other disconnects by its reason code (0x8E).',
    ),
  jobs: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe(
          'Run IoT Jobs addressed to the gateway thing: `fieldgate.command` job documents become leaf commands.',
        ),
    })
    .prefault({})
    .describe('AWS IoT Jobs (MQTT API, one execution at a time).'),
  keepaliveS: z
    .number()
    .int()
    .min(30)
    .max(1200)
    .default(300)
    .describe('MQTT keep-alive in seconds; IoT Core accepts 30–1200.'),
  topics: z
    .strictObject({
      telemetry: topicTemplate(
        'dt/fieldgate/{gateway}',
        'Telemetry topic; each reading names its device. With `{device}` every device gets its own topic, so a batch becomes one message per device (billed per message: up to one per reading). `$aws/rules/<rule>/…` publishes straight to a rule (Basic Ingest). Also takes `{encoding}`.',
      ),
      commandRequest: topicTemplate(
        'cmd/fieldgate/{gateway}/{device}/req',
        'Commands for `{device}` arrive here; must contain `{device}`.',
      ),
      commandResponse: topicTemplate(
        'cmd/fieldgate/{gateway}/{device}/res',
        'One response per command request is published here.',
      ),
    })
    .prefault({})
    .describe('Topic templates; placeholders `{gateway}` (thing name), `{device}` and `{route}`.'),
  encoding: z
    .enum(['json', 'json+gzip'])
    .default('json')
    .describe(
      'Telemetry payload: JSON, or JSON gzipped (about 8× fewer billed 5 KB units). IoT Core rules cannot read a gzipped payload: put `{encoding}` (`json` | `gzip`) in the telemetry topic so rules and consumers can tell.',
    ),
  maxMessageBytes: z
    .number()
    .int()
    .min(1024)
    .max(AWS_MAX_PAYLOAD_BYTES)
    .default(AWS_MAX_PAYLOAD_BYTES)
    .describe('Largest telemetry payload; IoT Core refuses more than 128 KiB.'),
  maxMessagesPerSecond: z
    .number()
    .positive()
    .max(AWS_MAX_PUBLISHES_PER_SECOND)
    .default(AWS_MAX_PUBLISHES_PER_SECOND)
    .describe(
      'Publishes per second on the connection, ours and those IoT Core sends us together; IoT Core discards beyond 100. A fifth is kept for inbound ones.',
    ),
  ackTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('How long to wait for a PUBACK (or HTTPS reply) before the batch is retried.'),
  shadows: z
    .strictObject({
      mode: z
        .enum(['named', 'classic', 'off'])
        .default('named')
        .describe(
          '`named`: one named shadow per leaf on the gateway thing; `classic`: the classic shadow of one thing per leaf; `off`.',
        ),
      name: z
        .string()
        .min(1)
        .default('{device}')
        .describe(
          'Shadow name (`named`) or leaf thing name (`classic`) from `{device}`; characters IoT Core does not allow become `_`.',
        ),
      minIntervalMs: z
        .number()
        .int()
        .min(0)
        .default(1000)
        .describe(
          'Per shadow, at most one `reported` update per this interval; changes in between are merged.',
        ),
      maxUpdatesPerSecond: z
        .number()
        .positive()
        .max(AWS_SHADOW_REQUESTS_PER_SECOND)
        .default(18)
        .describe(
          'Shadow requests per second per thing; IoT Core answers 429 beyond 20 (the default leaves room for network jitter).',
        ),
      desired: z
        .record(
          z.string(),
          z.strictObject({
            command: z
              .string()
              .min(1)
              .optional()
              .describe('Command to run with the desired value as argument.'),
            arg: z.string().min(1).default('value').describe('Argument name the desired value is passed as.'),
            values: z
              .record(z.string(), z.string().min(1))
              .optional()
              .describe(
                'Command per desired value (as JSON text: `true`, `"eco"`, `3`), run without arguments.',
              ),
          }),
        )
        .default({ state: { arg: 'value', values: { true: 'on', false: 'off' } } })
        .describe(
          'How a `desired` field becomes a device command; a field without an entry runs `set` with `{<field>: value}`.',
        ),
    })
    .prefault({})
    .describe('Device shadows: `reported` follows readings; a `desired` change runs a device command.'),
});

export type AwsUpstreamConfig = z.output<typeof awsUpstreamSchema>;
