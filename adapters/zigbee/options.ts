import { z } from 'zod';
import { secret } from '../adapter.js';

const ms = (description: string) => z.number().int().nonnegative().describe(description);

const hexBytes = (bytes: number, example: string) =>
  z
    .string()
    .transform((s) => s.replace(/^0x/i, '').replaceAll(/[\s:]/g, '').toLowerCase())
    .pipe(
      z
        .string()
        .regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes in hex, e.g. ${example}`),
    );

const availabilityPolicy = z
  .strictObject({
    missedIntervals: z
      .number()
      .positive()
      .default(2.5)
      .describe(
        'A device is offline after this many of its own check-in or reporting intervals pass unheard.',
      ),
    fallbackMainsMs: ms(
      'Mains devices whose reporting interval is unknown are pinged after this much silence.',
    ).default(600_000),
    pingMains: z
      .boolean()
      .default(true)
      .describe(
        'Ping a silent mains device (as zigbee2mqtt does) and mark it offline only when the ping goes unanswered; false: offline on silence alone.',
      ),
    fallbackBatteryMs: ms('Offline timeout for battery devices whose check-in interval is unknown.').default(
      90_000_000,
    ),
    checkIntervalMs: ms('How often availability is re-evaluated.').default(30_000),
  })
  .prefault({})
  .describe('Availability from each device’s own intervals; fallbacks apply only when those are unknown.');

/**
 * Options of a Zigbee adapter (`adapters.<name>` with `type: zigbee`), built on zigbee-herdsman and
 * zigbee-herdsman-converters. `src/config/schema.ts` adds `type` and `enabled`. Imports nothing but zod, so
 * the config can be validated without loading herdsman.
 */
export const zigbeeOptionsSchema = z.strictObject({
  coordinator: z
    .enum(['ember', 'zstack', 'deconz', 'zigate', 'zboss', 'zoh'])
    .describe(
      'Coordinator firmware family (ember for Silicon Labs EmberZNet, zstack for TI, zoh for OpenThread RCP).',
    ),
  serialPort: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Serial device (`/dev/serial/by-id/…`) or `tcp://host:port`; absent: auto-detect a USB coordinator.',
    ),
  baudRate: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Serial speed; absent: the coordinator family default.'),
  rtscts: z.boolean().optional().describe('Hardware flow control on the serial line.'),
  channel: z.number().int().min(11).max(26).default(11).describe('IEEE 802.15.4 channel of the network.'),
  panId: z
    .number()
    .int()
    .min(1)
    .max(0xfffe)
    .optional()
    .describe('PAN id; absent: generated on first start and kept in the state dir.'),
  extendedPanId: hexBytes(8, 'dddddddddddddddd')
    .optional()
    .describe('Extended PAN id (8 bytes hex); absent: generated on first start and kept in the state dir.'),
  networkKey: secret(hexBytes(16, '01030507090b0d0f00020406080a0c0d'))
    .optional()
    .describe(
      'Network key (16 bytes hex). Use `!secret`; absent: generated on first start and kept (0600) in the state dir.',
    ),
  reopen: z
    .strictObject({
      initialMs: ms('First delay before reopening a coordinator that went away.').default(1000),
      maxMs: ms('Longest delay between reopen attempts.').default(60_000),
    })
    .prefault({})
    .describe('Backoff for reopening the coordinator.'),
  awakeWindowMs: ms(
    'After a sleepy device polls or checks in, commands are sent to it for this long.',
  ).default(3000),
  availability: availabilityPolicy,
});

export type ZigbeeOptions = z.output<typeof zigbeeOptionsSchema>;

/**
 * Keys renamed so one thing has one name across radios, old name → new name. The config loader still
 * accepts the old name, with a warning, and maps its value to the new one.
 */
export const zigbeeRenamedKeys = { port: 'serialPort', reconnect: 'reopen' } as const;
export type AvailabilityPolicy = z.output<typeof availabilityPolicy>;

/**
 * Why a second enabled Zigbee adapter is refused: zigbee-herdsman keeps its device and group caches, its
 * database and its adapter in process-wide statics (`Device.devices`, `Entity.database`, `Entity.adapter`),
 * so a second `Controller` in the same process would interview, command and store devices through the
 * other one's coordinator (docs/radios.md#one-coordinator-per-daemon).
 */
export const ONE_ZIGBEE_ADAPTER =
  'only one zigbee adapter can run in a daemon (zigbee-herdsman keeps its network state process-wide); ' +
  'run a second fieldgate instance for a second coordinator, or set enabled: false';

/**
 * The names of enabled Zigbee adapters after the first, in config order: each is a config error
 * (`ONE_ZIGBEE_ADAPTER`).
 */
export function extraZigbeeAdapters(
  adapters: Readonly<Record<string, { type: string; enabled?: boolean }>>,
): string[] {
  const zigbee = Object.entries(adapters)
    .filter(([, a]) => a.type === 'zigbee' && a.enabled !== false)
    .map(([name]) => name);
  return zigbee.slice(1);
}
