import { randomBytes, randomInt } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FieldgateError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { ZigbeeOptions } from './options.js';

/** The network identity herdsman forms or resumes. */
export interface NetworkSettings {
  channel: number;
  panId: number;
  extendedPanId: number[];
  /** A secret: never logged. */
  networkKey: number[];
}

/** What is kept in the state dir for values the config does not set. */
interface StoredNetwork {
  panId?: number;
  extendedPanId?: string;
  networkKey?: string;
}

const FILE_NAME = 'network.json';

function hexToBytes(hex: string): number[] {
  return [...Buffer.from(hex, 'hex')];
}

async function readStored(file: string): Promise<StoredNetwork> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredNetwork;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new FieldgateError(
      'FG_ADAPTER_UNAVAILABLE',
      `The stored Zigbee network settings ${file} cannot be read.`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Network settings: the config's values first, then those generated on an earlier start, and what is
 * still missing is generated now and stored (mode 0600), so the network survives restarts. Generating
 * a fresh key on every start would orphan every paired device.
 */
export async function resolveNetworkSettings(
  options: Pick<ZigbeeOptions, 'channel' | 'panId' | 'extendedPanId' | 'networkKey'>,
  stateDir: string,
  log: Logger,
): Promise<NetworkSettings> {
  const file = path.join(stateDir, FILE_NAME);
  const stored = await readStored(file);
  const generated: StoredNetwork = {};
  // 0xffff is reserved and 0x0000 is avoided by coordinators, hence the range.
  const panId = options.panId ?? stored.panId ?? (generated.panId = randomInt(1, 0xfffe));
  const extendedPanId =
    options.extendedPanId ??
    stored.extendedPanId ??
    (generated.extendedPanId = randomBytes(8).toString('hex'));
  const networkKey =
    options.networkKey ?? stored.networkKey ?? (generated.networkKey = randomBytes(16).toString('hex'));
  if (Object.keys(generated).length > 0) {
    await writeFile(file, JSON.stringify({ ...stored, ...generated }, null, 2), { mode: 0o600 });
    // `mode` applies only when the file is created; one written by an older version keeps its mode.
    await chmod(file, 0o600);
    log.info(
      { generated: Object.keys(generated), file },
      'Generated Zigbee network settings and stored them.',
    );
  }
  return {
    channel: options.channel,
    panId,
    extendedPanId: hexToBytes(extendedPanId),
    networkKey: hexToBytes(networkKey),
  };
}
