import type { TailStats } from '../health/tail.js';

/** The control plane's own counters, for `status`. */
export interface ControlStats {
  /** Control connections open now, streams included. */
  connections: number;
  /** The cap on `connections`, derived from the process's descriptor limit. */
  maxConnections: number;
  /** Connections refused at the cap, since start. */
  refusedConnections: number;
  tail: TailStats;
}
