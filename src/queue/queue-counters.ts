import type { DropReason } from './queue.js';

/** The since-start counters of `QueueStats`, shared by the queue implementations. */
export class QueueCounters {
  readonly dropped: Record<DropReason, number> = {
    quota: 0,
    diskFull: 0,
    ttl: 0,
    rejected: 0,
    writeFailed: 0,
  };
  appended = 0;
  acked = 0;

  drop(reason: DropReason, count: number): void {
    this.dropped[reason] += count;
  }

  snapshot(): { dropped: Record<DropReason, number>; appended: number; acked: number } {
    return { dropped: { ...this.dropped }, appended: this.appended, acked: this.acked };
  }
}
