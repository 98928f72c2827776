import { z } from 'zod';
import { secret } from '../adapter.js';

const ms = (description: string) => z.number().int().nonnegative().describe(description);

const mac = z
  .string()
  .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i, 'expected a MAC address such as c4:7c:8d:6a:12:34')
  .transform((s) => s.toLowerCase());

const uuid = z
  .string()
  .regex(/^([0-9a-f]{4}|[0-9a-f]{32}|[0-9a-f-]{36})$/i, 'expected a 16-bit (181a) or 128-bit UUID')
  .transform((s) => s.toLowerCase().replaceAll('-', ''));

export const valueFormat = z
  .enum([
    'uint8',
    'int8',
    'uint16le',
    'int16le',
    'uint16be',
    'int16be',
    'uint24le',
    'uint32le',
    'int32le',
    'floatle',
    'bool',
  ])
  .describe('How the bytes encode the number (little/big endian, signedness, width).');

export const gattReading = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][A-Za-z0-9]*$/, 'expected a lowerCamel value name')
    .describe('Value name.'),
  service: uuid.describe('GATT service UUID.'),
  characteristic: uuid.describe('GATT characteristic UUID.'),
  format: valueFormat,
  offset: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe('Byte offset of the value in the characteristic.'),
  scale: z.number().default(1).describe('The raw number is multiplied by this (e.g. 0.01).'),
  unit: z.string().optional().describe('Unit of the scaled value (°C, %, hPa).'),
  mode: z
    .enum(['poll', 'notify'])
    .default('poll')
    .describe('poll reads every intervalMs; notify keeps a connection and subscribes.'),
  intervalMs: ms('With mode poll: how often to connect and read.').default(60_000),
});

export const payloadPart = z.union([
  z.strictObject({
    hex: z
      .string()
      .regex(/^([0-9a-f]{2})+$/i)
      .describe('Constant bytes, in hex.'),
  }),
  z.strictObject({
    arg: z.string().min(1).describe('Name of the command argument encoded here.'),
    format: valueFormat,
    scale: z.number().default(1).describe('The argument is divided by this before encoding.'),
    min: z.number().optional().describe('Smallest accepted argument value.'),
    max: z.number().optional().describe('Largest accepted argument value.'),
    enum: z
      .record(z.string(), z.number().int())
      .optional()
      .describe('A string argument: each accepted word and the number it encodes to.'),
  }),
]);

export const gattCommand = z.strictObject({
  name: z.string().min(1).describe('Command name, as the cloud sends it.'),
  service: uuid.describe('GATT service UUID.'),
  characteristic: uuid.describe('GATT characteristic UUID written to.'),
  withResponse: z
    .boolean()
    .default(true)
    .describe('Write with response (acknowledged) or as a write command (fire and forget).'),
  payload: z
    .array(payloadPart)
    .min(1)
    .describe('The bytes written: constants and encoded arguments, in order.'),
});

export const bleDevice = z.strictObject({
  address: mac.describe('The device MAC address.'),
  name: z.string().optional().describe('A friendly name for the device.'),
  bindkey: secret(z.string().regex(/^[0-9a-f]{32}$/i, 'expected 32 hex digits'))
    .optional()
    .describe(
      'Encryption key (BTHome, Xiaomi MiBeacon v4/v5, pvvx); plain packets from the device are then refused. Use `!secret name`, never write it inline.',
    ),
  gatt: z
    .strictObject({
      readings: z.array(gattReading).default([]).describe('Characteristics read or subscribed to.'),
      commands: z.array(gattCommand).default([]).describe('Commands, each a write to one characteristic.'),
    })
    .optional()
    .describe('GATT access for connectable devices.'),
});

/**
 * Options of a Bluetooth LE adapter (`adapters.<name>` with `type: ble`): types, defaults, validation and
 * descriptions in one place. `src/config/schema.ts` adds `type` and `enabled`; the adapter receives what this
 * parses. Imports nothing but zod, so the config can be validated without loading noble.
 */
export const bleOptionsSchema = z.strictObject({
  hciDevice: z.number().int().nonnegative().default(0).describe('HCI device index: 0 for hci0.'),
  devices: z
    .array(bleDevice)
    .default([])
    .describe('Known devices: always accepted, with their keys and GATT.'),
  allow: z
    .strictObject({
      macs: z.array(mac).default([]).describe('Further MAC addresses whose advertisements are accepted.'),
      names: z
        .array(z.string().min(1))
        .default([])
        .describe('Advertised local names accepted; a trailing `*` matches a prefix (`ATC_*`).'),
    })
    .prefault({})
    .describe('Which passive sensors become readings, besides `devices`.'),
  discovery: z
    .boolean()
    .default(true)
    .describe('Keep a list of every decodable sensor heard, for `fieldgate devices --discovered`.'),
  duplicateWindowMs: ms(
    'An advertisement with no packet counter that repeats the last payload within this time is a duplicate.',
  ).default(10_000),
  scanStallMs: ms(
    'No advertisement for this long while scanning means the scan stalled; it is restarted.',
  ).default(60_000),
  maxConnections: z
    .number()
    .int()
    .positive()
    .default(2)
    .describe('GATT connections open at once (controllers allow few).'),
  connectTimeoutMs: ms('How long one GATT connect and discovery may take.').default(15_000),
  reopen: z
    .strictObject({
      initialMs: ms('First delay before reopening the radio or reconnecting a device.').default(1000),
      maxMs: ms('Longest such delay.').default(60_000),
    })
    .prefault({}),
  availability: z
    .strictObject({
      missedIntervals: z
        .number()
        .positive()
        .default(5)
        .describe('Offline after this many learned advertising intervals without a packet.'),
      minOfflineMs: ms('Never offline sooner than this after the last packet.').default(60_000),
      maxOfflineMs: ms(
        'Offline after this long, whatever the interval (also before one is learned).',
      ).default(900_000),
    })
    .prefault({}),
});

export type BleOptions = z.output<typeof bleOptionsSchema>;
export type BleDeviceOptions = z.output<typeof bleDevice>;
export type GattReadingOptions = z.output<typeof gattReading>;
export type GattCommandOptions = z.output<typeof gattCommand>;
export type PayloadPart = z.output<typeof payloadPart>;
export type ConstantPart = Extract<PayloadPart, { hex: string }>;
export type ArgPart = Exclude<PayloadPart, ConstantPart>;
export type ValueFormat = z.output<typeof valueFormat>;
