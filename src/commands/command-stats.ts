import type { CommandStatus } from '../model.js';

/** Why the router refused to hold a command (each is also a `rejected` result), counted in `stats`. */
export type Refusal = 'idTooLong' | 'deviceFull' | 'gatewayFull' | 'overLimitsAtStart' | 'purged';

export interface CommandStats {
  received: number;
  byStatus: Record<CommandStatus, number>;
  pending: number;
  /** Commands refused (answered `rejected`) by reason, since start. */
  refused: Record<Refusal, number>;
  /** Stored entries skipped at start because they cannot be read (left in the store). */
  damaged: number;
  /** Stored commands the start did not hold and that still wait for their one result. */
  leftovers: number;
}

/** The command router's counters since start, as `fieldgate status` shows them. */
export class CommandCounters {
  received = 0;
  damaged = 0;
  leftovers = 0;
  readonly refused: Record<Refusal, number> = {
    idTooLong: 0,
    deviceFull: 0,
    gatewayFull: 0,
    overLimitsAtStart: 0,
    purged: 0,
  };
  readonly byStatus: Record<CommandStatus, number> = {
    ok: 0,
    failed: 0,
    expired: 0,
    rejected: 0,
    unsupported: 0,
  };

  /** A copy of the counters, with the number of commands `pending` now. */
  stats(pending: number): CommandStats {
    return {
      received: this.received,
      byStatus: { ...this.byStatus },
      pending,
      refused: { ...this.refused },
      damaged: this.damaged,
      leftovers: this.leftovers,
    };
  }
}
