import { readFileSync } from 'node:fs';
import { QUEUE_MAX_OPEN_FILES } from '../queue/guarded-level.js';

/** Used when `/proc/self/limits` cannot be read (not Linux): the usual soft limit of a login shell. */
export const FALLBACK_FD_LIMIT = 1024;
/**
 * Descriptors kept for everything but the queue and the control plane: stdio, libuv's own, upstream and
 * emulator sockets, serial ports, the HCI socket, the metrics listener, state files. Generous on purpose.
 */
export const OTHER_FDS = 128;
/** LevelDB's table cache plus its log, manifest, LOCK, info log and a compaction's output files. */
export const QUEUE_FDS = QUEUE_MAX_OPEN_FILES + 16;
/** More control connections than an operator's shell ever opens; streams (`tail`, `pair`) count too. */
export const MAX_CONTROL_CONNECTIONS = 256;
/** Below this the daemon is starved of descriptors anyway; the CLI still needs a few. */
export const MIN_CONTROL_CONNECTIONS = 8;

export interface FdBudget {
  /** The process's soft RLIMIT_NOFILE. */
  limit: number;
  /** Where `limit` came from. */
  source: 'proc' | 'fallback';
  /** Descriptors kept for the queue database and the rest of the daemon. */
  reserved: number;
  /** Concurrent control connections allowed; later ones are refused until some close. */
  maxConnections: number;
}

/**
 * The soft "Max open files" limit from the text of `/proc/<pid>/limits`; undefined when absent or
 * unparsable. "unlimited" becomes `Number.MAX_SAFE_INTEGER`.
 */
export function parseOpenFilesLimit(limitsText: string): number | undefined {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
  const value = Number(soft);
  return soft !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Pure: how many control connections fit under `limit` descriptors (`docs/control-plane.md`, "The descriptor
 * budget"). Half of what is left after the reservation, so that a flood of control connections can never
 * take the descriptors LevelDB needs to write.
 */
export function fdBudget(limit: number, source: FdBudget['source']): FdBudget {
  const reserved = QUEUE_FDS + OTHER_FDS;
  const spare = Math.floor((limit - reserved) / 2);
  const maxConnections = Math.max(MIN_CONTROL_CONNECTIONS, Math.min(MAX_CONTROL_CONNECTIONS, spare));
  return { limit, source, reserved, maxConnections };
}

/** Node has no getrlimit(2): read the limit Linux reports for this process. */
export function readFdBudget(limitsPath = '/proc/self/limits'): FdBudget {
  let limit: number | undefined;
  try {
    limit = parseOpenFilesLimit(readFileSync(limitsPath, 'utf8'));
  } catch {
    // Not Linux, or /proc is not mounted: fall back below.
  }
  return limit === undefined ? fdBudget(FALLBACK_FD_LIMIT, 'fallback') : fdBudget(limit, 'proc');
}
