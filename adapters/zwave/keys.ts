import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../src/logger.js';
import type { ZwaveOptions } from './options.js';

/** The file in the adapter's state dir that keeps the network keys the gateway generated. */
export const KEYS_FILE = 'security-keys.json';

const CLASSIC = ['s0Legacy', 's2Unauthenticated', 's2Authenticated', 's2AccessControl'] as const;
/** zwave-js takes only these two Long Range keys (Long Range has no S0 and no S2 Unauthenticated). */
const LONG_RANGE = ['s2Authenticated', 's2AccessControl'] as const;

type ClassicKeys = ZwaveOptions['securityKeys'];
type LongRangeKeys = ZwaveOptions['securityKeysLongRange'];

/** Every key the driver runs with: the configured ones, the rest from the state dir. */
export interface NetworkKeys {
  securityKeys: Required<{ [K in keyof ClassicKeys]: string }>;
  securityKeysLongRange: Required<{ [K in keyof LongRangeKeys]: string }>;
}

const HEX32 = /^[0-9a-fA-F]{32}$/;

/**
 * The network keys to start the driver with. A configured key wins. A key not configured comes from
 * `<stateDir>/security-keys.json`; one not stored there either is generated (16 random bytes) and stored
 * (file mode 0600, written whole then renamed) before the driver starts, so every S2 device joins securely
 * and the next start reuses the same keys. A configured key that differs from the stored one is used, and
 * the stored one is kept (a WARN names the key, never its value): devices included with the stored key
 * stop talking to the gateway until the config and the devices agree again.
 *
 * @throws when the file exists but cannot be read or is not what this function writes: generating new
 *   keys over it would cut off every secure device, so the adapter reports it instead.
 */
export async function resolveNetworkKeys(
  stateDir: string,
  configured: Pick<ZwaveOptions, 'securityKeys' | 'securityKeysLongRange'>,
  log: Logger,
): Promise<NetworkKeys> {
  const file = path.join(stateDir, KEYS_FILE);
  const stored = await readStored(file);
  const next: StoredKeys = {
    securityKeys: { ...stored?.securityKeys },
    securityKeysLongRange: { ...stored?.securityKeysLongRange },
  };
  const generated: string[] = [];
  const differing: string[] = [];
  const pick = <K extends string>(
    names: readonly K[],
    given: Partial<Record<K, string | undefined>>,
    kept: Partial<Record<K, string>>,
    prefix: string,
  ): Record<K, string> => {
    const out = {} as Record<K, string>;
    for (const name of names) {
      const mine = given[name];
      let fromFile = kept[name];
      if (fromFile === undefined && mine === undefined) {
        fromFile = randomBytes(16).toString('hex');
        kept[name] = fromFile;
        generated.push(`${prefix}${name}`);
      }
      if (mine !== undefined && fromFile !== undefined && mine.toLowerCase() !== fromFile.toLowerCase())
        differing.push(`${prefix}${name}`);
      out[name] = (mine ?? fromFile) as string;
    }
    return out;
  };
  const keys: NetworkKeys = {
    securityKeys: pick(CLASSIC, configured.securityKeys, next.securityKeys, 'securityKeys.'),
    securityKeysLongRange: pick(
      LONG_RANGE,
      configured.securityKeysLongRange,
      next.securityKeysLongRange,
      'securityKeysLongRange.',
    ),
  };
  if (generated.length > 0) {
    await writeStored(file, next);
    log.info({ keys: generated, file }, 'Z-Wave network keys generated and stored (mode 0600).');
  } else if (stored !== undefined) {
    // A file left readable by others (restored from a backup, copied by hand) is made private again.
    await fs.chmod(file, 0o600);
  }
  if (differing.length > 0)
    log.warn(
      { keys: differing, file },
      'Configured Z-Wave keys differ from the stored ones; the configured keys are used, and devices included with the stored keys cannot be reached.',
    );
  return keys;
}

interface StoredKeys {
  securityKeys: Partial<Record<(typeof CLASSIC)[number], string>>;
  securityKeysLongRange: Partial<Record<(typeof LONG_RANGE)[number], string>>;
}

async function readStored(file: string): Promise<StoredKeys | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON; restore it from a backup or move it away to generate new keys`);
  }
  const stored = parsed as Partial<StoredKeys> | null;
  const isValid = (group: unknown, names: readonly string[]): boolean =>
    typeof group === 'object' &&
    group !== null &&
    Object.entries(group).every(([k, v]) => names.includes(k) && typeof v === 'string' && HEX32.test(v));
  if (
    stored === null ||
    !isValid(stored.securityKeys ?? {}, CLASSIC) ||
    !isValid(stored.securityKeysLongRange ?? {}, LONG_RANGE)
  )
    throw new Error(
      `${file} does not hold Z-Wave keys as 32 hex digits; restore it from a backup or move it away`,
    );
  return {
    securityKeys: stored.securityKeys ?? {},
    securityKeysLongRange: stored.securityKeysLongRange ?? {},
  };
}

async function writeStored(file: string, keys: StoredKeys): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.tmp`;
  const handle = await fs.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(keys, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.chmod(temp, 0o600);
  await fs.rename(temp, file);
}
