import { z } from 'zod';
import { secret } from '../secret-fields.js';
import { serviceUrl } from '../service-url.js';

/** The hub's device id rule: case-sensitive, ≤128 ASCII letters, digits and `- : . + % _ # * ? ! ( ) , = @ ; $ '`. */
export const HUB_DEVICE_ID = /^[A-Za-z0-9\-:.+%_#*?!(),=@;$']{1,128}$/;

/** The Node SDK's renewal margin (docs/clouds/azure-iot-hub.md#sas-tokens). */
const DEFAULT_RENEW_BEFORE_S = 900;

/**
 * The Azure IoT Hub upstream (docs/clouds/azure-iot-hub.md). Credentials come from `connectionString`,
 * or from `hostName` + `deviceId` + `sharedAccessKey` (+ `sharedAccessKeyName` for a hub policy with
 * DeviceConnect), or from an X.509 client certificate in `tls`.
 */
const azureUpstreamFields = z.strictObject({
  type: z.literal('azure'),
  protocol: z
    .enum(['mqtt', 'amqp', 'https'])
    .default('mqtt')
    .describe(
      'Device protocol: MQTT 3.1.1 over TLS (8883); AMQP 1.0 over TLS (5671) with CBS tokens and batched sends; or HTTPS (443) with batched events and polled C2D, no direct methods.',
    ),
  identity: z
    .enum(['gateway', 'perDevice'])
    .default('gateway')
    .describe(
      'gateway: every reading goes under the gateway’s own device identity, the leaf id in the payload. perDevice: each leaf is its own hub device (identity translation); keys from `leaves`, `groupKey` or a DeviceConnect policy (`sharedAccessKeyName`).',
    ),
  leaves: z
    .record(
      z.string(),
      z.strictObject({
        deviceId: z
          .string()
          .regex(HUB_DEVICE_ID, "expected ≤128 ASCII letters, digits or - : . + % _ # * ? ! ( ) , = @ ; $ '")
          .optional()
          .describe(
            "The leaf’s hub device id; default the leaf id with characters outside A-Z a-z 0-9 - : . _ * ! ( ) , = @ ; $ ' replaced by _.",
          ),
        sharedAccessKey: secret(z.string())
          .optional()
          .describe('The leaf device’s own base64 key; use `!secret`.'),
      }),
    )
    .default({})
    .describe(
      'perDevice: hub device id and key per leaf id; a key here wins over `groupKey` and the policy.',
    ),
  groupKey: secret(z.string())
    .optional()
    .describe(
      'perDevice: a DPS enrollment-group key; each leaf’s key is derived as base64(HMAC-SHA256(groupKey, hub device id)).',
    ),
  groupKeyFile: z.string().optional().describe('File whose trimmed contents become `groupKey`.'),
  refusedRetryS: z
    .number()
    .positive()
    .default(60)
    .describe(
      'perDevice: a leaf the hub refused (unknown device, wrong key) is tried again after this long.',
    ),
  maxLeafConnections: z
    .number()
    .int()
    .positive()
    .default(100)
    .describe(
      'perDevice over MQTT: leaf connections open at once (one per leaf); past it the least recently used is closed, its C2D waiting in the hub until it reconnects.',
    ),
  maxDevicesPerConnection: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(1000)
    .describe(
      'perDevice over AMQP: leaves on one connection at most (the Java SDK’s cap; the hub answers 403005 past its limit, and then the leaf goes on another connection); more leaves open more connections.',
    ),
  connectionString: secret(z.string())
    .optional()
    .describe(
      'Device or module connection string (`HostName=…;DeviceId=…[;ModuleId=…];SharedAccessKey=…`); use `!secret`.',
    ),
  connectionStringFile: z
    .string()
    .optional()
    .describe('File whose trimmed contents become `connectionString`.'),
  hostName: z
    .string()
    .optional()
    .describe('IoT Hub host, `{hub}.azure-devices.net`; from the connection string otherwise.'),
  deviceId: z.string().optional().describe('The gateway’s device id in the hub; default the gateway id.'),
  moduleId: z
    .string()
    .regex(HUB_DEVICE_ID, "expected ≤128 ASCII letters, digits or - : . + % _ # * ? ! ( ) , = @ ; $ '")
    .optional()
    .describe(
      'Connect as this module identity of `deviceId` (an IoT Edge module, or a module-scoped key); MQTT or AMQP, identity gateway only; a module has no C2D queue, so commands come as direct methods. From `ModuleId=` in the connection string otherwise.',
    ),
  sharedAccessKey: secret(z.string())
    .optional()
    .describe('Base64 device key, or policy key with `sharedAccessKeyName`; use `!secret`.'),
  sharedAccessKeyFile: z
    .string()
    .optional()
    .describe('File whose trimmed contents become `sharedAccessKey`.'),
  sharedAccessKeyName: z
    .string()
    .optional()
    .describe('Hub policy with DeviceConnect (e.g. `device`) that `sharedAccessKey` belongs to.'),
  endpoint: secret(serviceUrl(['mqtts', 'amqps', 'https', 'mqtt', 'amqp', 'http']), 'url')
    .optional()
    .describe(
      'Where to connect when not `mqtts://{hostName}:8883` (amqp: `amqps://{hostName}:5671`, https: `https://{hostName}`): an IoT Edge or the local emulator.',
    ),
  tls: z
    .strictObject({
      caFile: z
        .string()
        .optional()
        .describe('PEM CA bundle to trust (an emulator’s CA); default the system CAs.'),
      certFile: z
        .string()
        .optional()
        .describe('PEM client certificate: X.509 authentication instead of SAS.'),
      keyFile: z.string().optional().describe('PEM private key of `certFile`.'),
      rejectUnauthorized: z.boolean().default(true).describe('Verify the hub’s certificate.'),
    })
    .prefault({}),
  tokenTtlS: z.number().int().min(60).default(3600).describe('Lifetime of each SAS token we sign.'),
  tokenRenewBeforeS: z
    .number()
    .int()
    .min(10)
    .default(DEFAULT_RENEW_BEFORE_S)
    .describe(
      'Renew the token this long before it expires (MQTT: reconnect; AMQP: put-token on the open CBS link); at most half of `tokenTtlS`, so a token lives at least 30 s between renewals.',
    ),
  keepaliveS: z
    .number()
    .int()
    .min(5)
    .max(1177)
    .default(180)
    .describe(
      'MQTT keep-alive (the hub allows at most 1177 s: its timeout is 1.5× this) and AMQP idle timeout.',
    ),
  encoding: z
    .enum(['json', 'json+gzip'])
    .default('json')
    .describe(
      'D2C body: JSON, or JSON gzipped (`contentEncoding: gzip`): about 8× fewer billed 4 KB units, but routing queries cannot read a gzipped body and consumers must inflate it.',
    ),
  maxMessageBytes: z
    .number()
    .int()
    .min(4096)
    .max(256 * 1024)
    .default(256 * 1024)
    .describe('Largest D2C message, properties included; the hub’s limit is 256 KiB.'),
  maxMessagesPerSecond: z
    .number()
    .positive()
    .default(100)
    .describe('D2C publish rate limit; match your hub tier’s throttle (S1: 100/s per hub).'),
  ackTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('How long to wait for the hub to acknowledge a message (PUBACK, AMQP disposition).'),
  c2dPollIntervalS: z
    .number()
    .positive()
    .default(1500)
    .describe(
      'HTTPS only: how often to poll for C2D messages; the hub asks for no more than once per 25 min per device.',
    ),
  methodTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe('A direct method not answered within this is never executed (the hub’s default wait is 30 s).'),
  twin: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          'MQTT and AMQP: read the twin after connecting, log desired properties, and report the gateway’s status in `reported.fieldgate`.',
        ),
      reportIntervalS: z
        .number()
        .int()
        .min(10)
        .default(60)
        .describe(
          'Report the status when it changed, at most this often (the hub’s twin updates are throttled per unit).',
        ),
    })
    .prefault({})
    .describe('The gateway’s device twin; HTTPS has no twin.'),
});

export const azureUpstreamSchema = azureUpstreamFields.superRefine((config, context) => {
  // A margin at or above the lifetime renews as soon as a token is signed: a reconnect or put-token storm
  // against the hub-wide connection throttle (docs/clouds/azure-iot-hub.md#token-renewal).
  if (config.tokenRenewBeforeS * 2 > config.tokenTtlS) {
    const every = Math.max(0, config.tokenTtlS - config.tokenRenewBeforeS);
    // Point at the key the user most likely wrote: the lifetime when the margin is the default.
    const isDefaultMargin = config.tokenRenewBeforeS === DEFAULT_RENEW_BEFORE_S;
    context.addIssue({
      code: 'custom',
      path: [isDefaultMargin ? 'tokenTtlS' : 'tokenRenewBeforeS'],
      message: isDefaultMargin
        ? `must be at least twice tokenRenewBeforeS (${config.tokenRenewBeforeS} s, the default): a token would be renewed every ${every} s; lower tokenRenewBeforeS too`
        : `must be at most half of tokenTtlS (${config.tokenTtlS} s): a token would be renewed every ${every} s`,
    });
  }
  const moduleRefusal = moduleIdentityRefusal(config);
  if (config.moduleId !== undefined && moduleRefusal !== undefined) {
    context.addIssue({ code: 'custom', path: ['moduleId'], message: moduleRefusal });
  }
});

/**
 * Why a module identity cannot be used with this config, or undefined. A module is one identity (not a
 * pool of leaves) and speaks MQTT or AMQP: the HTTPS device API has no module paths in the device SDKs
 * (docs/clouds/azure-iot-hub.md#module-identities). Also checked for `ModuleId=` in a connection string.
 */
export function moduleIdentityRefusal(config: {
  identity: 'gateway' | 'perDevice';
  protocol: 'mqtt' | 'amqp' | 'https';
}): string | undefined {
  if (config.identity === 'perDevice') {
    return 'a module identity is one identity: use it with identity: gateway, not perDevice';
  }
  if (config.protocol === 'https') {
    return 'a module identity connects over MQTT or AMQP (protocol: mqtt or amqp), not HTTPS';
  }
  return undefined;
}

export type AzureUpstreamConfig = z.output<typeof azureUpstreamSchema>;
