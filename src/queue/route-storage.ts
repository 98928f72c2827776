import type { BatchOperation } from 'classic-level';
import type { Logger } from '../logger.js';
import type { GroupCommit } from './group-commit.js';
import type { RootDatabase } from './open-database.js';
import type { OverflowPolicy } from './queue.js';
import type { SpaceQuota } from './space-quota.js';

export type StoreOp = BatchOperation<RootDatabase, unknown, unknown>;

/**
 * What goes through the group commit: an operation, or a function that builds it when the commit is
 * written (a segment that collects every append of its commit).
 */
export type CommitOp = StoreOp | (() => StoreOp);

/** Counters of the store's own work, for metrics and for tests that prove what was (not) done. */
export interface StoreIo {
  /** Group commits written. */
  commits: number;
  /** Entries read from LevelDB iterators. */
  keysRead: number;
  /** Background compactions completed. */
  compactions: number;
}

/** What a route's queue gets from its store. */
export interface RouteStorage {
  route: string;
  db: RootDatabase;
  groupCommit: GroupCommit<CommitOp>;
  quota: SpaceQuota;
  io: StoreIo;
  overflow: OverflowPolicy;
  /** 0 keeps readings forever. */
  ttlMs: number;
  now: () => number;
  log: Logger;
}
