/**
 * The adapter's options as the config schema (`src/config/adapters/zwave.ts`) parses them. Mirrored here
 * because adapters do not import the daemon's config code (docs/architecture.md#dependency-rules).
 */
export interface ZwaveOptions {
  /** `/dev/serial/by-id/…` or `tcp://host:port`. */
  serialPort: string;
  securityKeys: {
    s0Legacy?: string | undefined;
    s2Unauthenticated?: string | undefined;
    s2Authenticated?: string | undefined;
    s2AccessControl?: string | undefined;
  };
  securityKeysLongRange: { s2Authenticated?: string | undefined; s2AccessControl?: string | undefined };
  reopen: { initialMs: number; maxMs: number };
  /** Extra time past two wake-up intervals before a battery node counts as offline. */
  sleepGraceMs: number;
  /** Full DSKs of devices that may join with S2 Authenticated / Access Control without a PIN at pairing. */
  allowedDsks: string[];
  /** How long `devices remove` waits for a live node to answer exclusion. */
  exclusionTimeoutMs: number;
}

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
