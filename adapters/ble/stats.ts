import type { DropReason } from './decoders/index.js';

type GuardReason = 'notEncrypted' | 'replayed';

/** Counters an operator reads to see what the radio hears and what the adapter throws away. */
export interface BleStats {
  /** Advertisements decoded into readings. */
  readings: number;
  /** Repeats of a packet already turned into a reading. */
  duplicates: number;
  /**
   * Advertisements in a known format that gave no reading, by reason: could not be decoded (`DropReason`),
   * or well-formed but carrying no values at all (`empty`, e.g. a BTHome header with no objects), refused
   * from a device with a key (`notEncrypted`: sent in the clear; `replayed`: counter not newer), or from an
   * allowed device in no known format (`undecoded`). `cutAtUnknownObject` counts packets that held an
   * object no decoder knows: the values before it became a reading, the rest was lost.
   */
  dropped: Partial<Record<DropReason | 'empty' | GuardReason | 'undecoded' | 'cutAtUnknownObject', number>>;
  /** Readings dropped because the pipeline fell too far behind. */
  backlogDrops: number;
  /** Scans restarted by the stall watchdog. */
  scanRestarts: number;
  /** Attempts to reopen the radio after it failed. */
  radioReopens: number;
}

export function emptyStats(): BleStats {
  return {
    readings: 0,
    duplicates: 0,
    dropped: {},
    backlogDrops: 0,
    scanRestarts: 0,
    radioReopens: 0,
  };
}
