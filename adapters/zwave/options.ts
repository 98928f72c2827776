import { z } from 'zod';
import { secret } from '../adapter.js';

/** A 16-byte network key as 32 hex digits; written as `!secret name` in the config file, never inline. */
const networkKey = (description: string) =>
  secret(z.string().regex(/^[0-9a-fA-F]{32}$/, 'expected 32 hex digits (16 bytes)'))
    .optional()
    .describe(`${description} Use \`!secret name\`; never write a key inline.`);

/**
 * Options of a Z-Wave adapter (`adapters.<name>` with `type: zwave`), wrapping a zwave-js Driver.
 * `src/config/schema.ts` adds `type` and `enabled`. Imports nothing but zod, so the config can be validated
 * without loading zwave-js.
 */
export const zwaveOptionsSchema = z.strictObject({
  serialPort: z
    .string()
    .min(1)
    .describe(
      'The controller stick: a stable path such as `/dev/serial/by-id/usb-…`, or `tcp://host:port` for a ser2net-style remote stick.',
    ),
  securityKeys: z
    .strictObject({
      s0Legacy: networkKey('S0 (legacy) network key.'),
      s2Unauthenticated: networkKey('S2 Unauthenticated network key.'),
      s2Authenticated: networkKey('S2 Authenticated network key.'),
      s2AccessControl: networkKey('S2 Access Control network key (locks, garage doors).'),
    })
    .prefault({})
    .describe('Z-Wave Classic network keys; without them nodes are included insecurely.'),
  securityKeysLongRange: z
    .strictObject({
      s2Authenticated: networkKey('Long Range S2 Authenticated network key.'),
      s2AccessControl: networkKey('Long Range S2 Access Control network key.'),
    })
    .prefault({})
    .describe('Z-Wave Long Range network keys.'),
  reopen: z
    .strictObject({
      initialMs: z
        .number()
        .int()
        .positive()
        .default(2000)
        .describe('First delay before reopening a lost stick.'),
      maxMs: z.number().int().positive().default(60_000).describe('Longest delay between reopen attempts.'),
    })
    .prefault({})
    .describe('Backoff for reopening the stick after it vanished or failed to start.'),
  sleepGraceMs: z
    .number()
    .int()
    .nonnegative()
    .default(300_000)
    .describe(
      'A battery node counts as offline once it missed two wake-up intervals plus this grace; its interval comes from the node itself.',
    ),
  allowedDsks: z
    .array(z.string().regex(/^\d{5}(-\d{5}){7}$/, 'expected a DSK: 8 groups of 5 digits separated by dashes'))
    .default([])
    .describe(
      'DSKs (from the device label or QR code) of devices allowed to join with S2 authentication without a PIN given to `fieldgate pair`.',
    ),
  exclusionTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(60_000)
    .describe(
      'How long `fieldgate devices remove` waits for a Z-Wave device to answer exclusion (its button pressed) before giving up.',
    ),
});

export type ZwaveOptions = z.output<typeof zwaveOptionsSchema>;

type KeyBytes = Uint8Array<ArrayBuffer>;

/** The key sets in zwave-js's shape (`S2_Authenticated`, …), hex decoded; absent keys stay absent. */
export function driverSecurityKeys(options: ZwaveOptions): {
  securityKeys: Partial<
    Record<'S0_Legacy' | 'S2_Unauthenticated' | 'S2_Authenticated' | 'S2_AccessControl', KeyBytes>
  >;
  securityKeysLongRange: Partial<Record<'S2_Authenticated' | 'S2_AccessControl', KeyBytes>>;
} {
  const classic = options.securityKeys;
  const longRange = options.securityKeysLongRange;
  return {
    securityKeys: pickKeys({
      S0_Legacy: classic.s0Legacy,
      S2_Unauthenticated: classic.s2Unauthenticated,
      S2_Authenticated: classic.s2Authenticated,
      S2_AccessControl: classic.s2AccessControl,
    }),
    securityKeysLongRange: pickKeys({
      S2_Authenticated: longRange.s2Authenticated,
      S2_AccessControl: longRange.s2AccessControl,
    }),
  };
}

function pickKeys<K extends string>(hexByName: Record<K, string | undefined>): Partial<Record<K, KeyBytes>> {
  const keys: Partial<Record<K, KeyBytes>> = {};
  for (const [name, hex] of Object.entries(hexByName) as [K, string | undefined][]) {
    if (hex !== undefined) keys[name] = Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  return keys;
}
