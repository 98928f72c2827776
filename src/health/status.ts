import type { AdapterStatus } from '../adapter-host.js';
import type { ControlStats } from '../control/control-stats.js';
import type { Redactor } from '../config/redact.js';
import type { Availability } from '../model.js';
import type { EmptiedReport, RepairReport } from '../queue/open-database.js';
import type { QueueStats } from '../queue/queue.js';
import type { WriteHealth } from '../queue/write-guard.js';
import type { ForwarderStatus } from '../upstream/forwarder.js';
import type { IntakeStats } from '../commands/intake-limiter.js';
import type { CommandStats } from '../commands/router.js';

export interface RouteStatus {
  name: string;
  forwarder: ForwarderStatus;
  queue: QueueStats;
  /** Seconds until the backlog is sent at the recent send rate; 0 when empty, null when nothing moves. */
  drainEtaS: number | null;
  /** Commands from this route's cloud: admitted, in progress, refused by reason (rate, inFlight, oversize, invalid). */
  commandIntake?: IntakeStats;
}

/** The outcome of the last SIGHUP. */
export interface ReloadStatus {
  /** Epoch ms. */
  at: number;
  /** Reloadable config subtrees that were applied (`pipeline.filter`). */
  applied: string[];
  /** Changed keys that take effect only after a restart; empty when nothing needs one. */
  restartRequired: string[];
  /** Why the new file was not applied at all (invalid config); absent on success. */
  error?: string;
}

/** The snapshot behind `fieldgate status --json`. Field names are stable: scripts depend on them. */
export interface StatusSnapshot {
  gateway: string;
  version: string;
  uptimeS: number;
  healthy: boolean;
  problems: string[];
  adapters: AdapterStatus[];
  routes: RouteStatus[];
  storage: {
    bytes: number;
    quarantine: { path: string; reason: string; at: number } | null;
    /** `ok`, or since when (epoch ms) and why writes to the queue are refused. */
    writes: WriteHealth;
    /** Why the queue database cannot be opened right now (read-only, I/O error), retried; null when open. */
    unavailable?: string | null;
    /** The repair made at start after LevelDB reported corruption: what was lost, where the original is. */
    repair?: RepairReport | null;
    /** The database's data files held bytes, but it opened with no record. */
    emptied?: EmptiedReport | null;
  };
  devices: Record<Availability, number>;
  commands: CommandStats | null;
  pipeline: { in: number; out: number; filtered: number; unrouted: number } | null;
  /** The last reload, or null when the daemon was never reloaded. */
  reload: ReloadStatus | null;
  /** Keys changed by reloads that need a restart to apply (accumulated since start). */
  restartRequired: string[];
  /** Control connections and `tail` streams; null when the control socket is off. */
  control?: ControlStats | null;
}

export interface StatusInputs {
  gatewayId: string;
  version: string;
  startedAt: number;
  now: number;
  adapters: AdapterStatus[];
  routes: RouteStatus[];
  quarantine: { path: string; reason: string; at: number } | undefined;
  storageBytes: number;
  storageWrites: WriteHealth;
  /** Why the queue storage cannot be opened now; undefined once open. */
  storageUnavailable?: string | undefined;
  storageRepair?: RepairReport | undefined;
  storageEmptied?: EmptiedReport | undefined;
  devices: Record<Availability, number>;
  commands: StatusSnapshot['commands'] | undefined;
  pipeline: StatusSnapshot['pipeline'] | undefined;
  reload: ReloadStatus | undefined;
  /** Why the systemd watchdog is not being fed, when a liveness check fails. */
  livenessProblem: string | undefined;
  /**
   * Scrubs every secret from the snapshot's text (a reload error, an adapter's detail, a connection
   * error): the snapshot goes to `status`, the unauthenticated `/readyz` and the cloud twin.
   */
  redactor?: Pick<Redactor, 'scrubDeep'>;
  control?: ControlStats | undefined;
}

/** Pure: assemble the snapshot and decide what counts as unhealthy, with a sentence per problem. */
export function buildStatus(inputs: StatusInputs): StatusSnapshot {
  const problems: string[] = [];
  if (inputs.livenessProblem !== undefined) problems.push(`liveness check failed: ${inputs.livenessProblem}`);
  if (inputs.reload?.error !== undefined) problems.push(`last reload failed: ${inputs.reload.error}`);
  if (inputs.quarantine !== undefined) {
    problems.push(`queue database was quarantined to ${inputs.quarantine.path}: ${inputs.quarantine.reason}`);
  }
  if (inputs.storageUnavailable !== undefined) {
    problems.push(
      `${inputs.storageUnavailable.replace(/\.$/, '')}; nothing is stored or forwarded until it opens (retried every few seconds)`,
    );
  }
  const repair = inputs.storageRepair;
  if (repair !== undefined) {
    const lostBytes = repair.damagedTables.reduce((sum, t) => sum + t.bytes, 0);
    problems.push(
      repair.damagedTables.length > 0
        ? `queue database was repaired after corruption (${repair.reason}): ${repair.damagedTables.length} damaged table files (${lostBytes} bytes) were rewritten or dropped and readings in their damaged parts are lost; ${repair.recordsAfter} records remain; the database as found is kept at ${repair.keptPath}`
        : `queue database was repaired after corruption (${repair.reason}); no table file was damaged; the database as found is kept at ${repair.keptPath} (delete it once the queue is known good)`,
    );
  }
  if (inputs.storageEmptied !== undefined) {
    problems.push(
      `queue database has ${inputs.storageEmptied.dataBytes} bytes of data files but no readable record: what it held was lost before this start`,
    );
  }
  const writes = inputs.storageWrites;
  if (writes.state === 'failing') {
    problems.push(
      `queue writes are failing since ${new Date(writes.since).toISOString()} (${writes.reason}); new readings are dropped until storage works again`,
    );
  } else if (writes.state === 'needsRestart') {
    problems.push(`queue database refuses writes (${writes.reason}); fieldgate restarts to reopen it`);
  }
  for (const a of inputs.adapters) {
    if (a.state === 'degraded' || a.state === 'unavailable') {
      problems.push(`adapter ${a.name} is ${a.state}${a.detail === undefined ? '' : `: ${a.detail}`}`);
    }
  }
  for (const r of inputs.routes) {
    if (r.forwarder.state === 'backoff' || r.forwarder.state === 'connecting') {
      const error = r.forwarder.lastError === undefined ? '' : ` (${r.forwarder.lastError})`;
      if (r.forwarder.offlineSince !== undefined) problems.push(`route ${r.name} is offline${error}`);
    }
    const dropped = Object.values(r.queue.dropped).reduce((a, b) => a + b, 0);
    if (dropped > 0) problems.push(`route ${r.name} dropped ${dropped} readings`);
  }
  const snapshot: StatusSnapshot = {
    gateway: inputs.gatewayId,
    version: inputs.version,
    uptimeS: Math.round((inputs.now - inputs.startedAt) / 1000),
    healthy: problems.length === 0,
    problems,
    adapters: inputs.adapters,
    routes: inputs.routes,
    storage: {
      bytes: inputs.storageBytes,
      quarantine: inputs.quarantine ?? null,
      writes,
      unavailable: inputs.storageUnavailable ?? null,
      repair: inputs.storageRepair ?? null,
      emptied: inputs.storageEmptied ?? null,
    },
    devices: inputs.devices,
    commands: inputs.commands ?? null,
    pipeline: inputs.pipeline ?? null,
    reload: inputs.reload ?? null,
    restartRequired: inputs.reload?.restartRequired ?? [],
    control: inputs.control ?? null,
  };
  return inputs.redactor === undefined ? snapshot : inputs.redactor.scrubDeep(snapshot);
}

/**
 * Ready to do its job (`/readyz`): the queue store is open and no enabled adapter is `unavailable` or still
 * `starting`. A gateway with no radios configured is ready once it runs.
 */
export function isReady(status: StatusSnapshot): boolean {
  const isStorageOpen = status.storage.unavailable === null || status.storage.unavailable === undefined;
  return isStorageOpen && status.adapters.every((a) => a.state === 'running' || a.state === 'degraded');
}
