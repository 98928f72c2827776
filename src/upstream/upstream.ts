import type { CommandHandler } from '../commands/incoming.js';
import type { CommandResult, DeviceInfo, Envelope } from '../model.js';
import type { CommandGate } from '../commands/command-gate.js';

/** Declared by the command router, which owns them; re-exported for users of the upstream contract. */
export type { CommandHandler, IncomingCommand } from '../commands/incoming.js';

/**
 * What a send did with a batch (docs/architecture.md#upstream). Classified by the upstream, acted on by the
 * forwarder.
 */
export type SendResult =
  | { kind: 'ok' }
  /** Some items were delivered (`acked`), some permanently refused (`rejected`); the rest are retried. */
  | { kind: 'partial'; acked: number[]; rejected: { gseq: number; reason: string }[] }
  /** Offline, timeout, throttled, auth: keep the data and try again after a backoff (or `retryAfterMs`). */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; kicked?: boolean }
  /** Permanent for these items (too large, malformed): dead-letter them. */
  | { kind: 'reject'; reason: string };

/** The cloud's limits that shape batching and pacing. */
export interface UpstreamLimits {
  /** Largest message the upstream accepts, in bytes (after encoding). */
  maxMessageBytes: number;
  /** Messages per second the upstream tolerates on one connection; Infinity when unbounded. */
  maxMessagesPerSecond: number;
  /** The billing unit in bytes (4 KB for IoT Hub, 5 KB for IoT Core); 0 when not billed per message size. */
  billingUnitBytes: number;
}

/** What an upstream meters, cumulative since it was created. */
export interface UpstreamStats {
  /**
   * Units the cloud bills for everything counted in `operations` that it acknowledged (Azure: 4 KB units of
   * D2C, C2D, twin reads and updates, method requests and responses; AWS: 5 KB messages in and out, shadow
   * operations, connects).
   */
  billedUnits: number;
  /**
   * Billable operations by short name: `d2c`, `c2d`, `twinRead`, `twinUpdate`, `method` (Azure);
   * `publishIn`, `publishOut`, `shadow`, `connect` (AWS). Counts of operations, not units. Absent from
   * an upstream that meters only its billed units (read as none).
   */
  operations?: Record<string, number>;
}

/**
 * One cloud's device protocol, for one route (docs/architecture.md#upstream).
 *
 * Call order: `onCommand` (optional, before connect), `connect`, then `send` calls one at a time (or up to
 * `maxConcurrentSends` at once), `publishResult` at any time, then `close` once. `connect` may be called
 * again after a failed `send` reported the connection lost. Methods never throw for network conditions:
 * `connect` rejects with a retryable FieldgateError, `send` returns a `SendResult`.
 */
export interface Upstream {
  readonly limits: UpstreamLimits;
  /**
   * How many `send` calls may overlap; absent means 1, and the forwarder never overlaps them. A connector
   * that allows more must deliver each batch's messages in order and must not lose or mix up a batch when
   * another one fails beside it.
   */
  readonly maxConcurrentSends?: number;
  /** True while the connection is up and sends can be attempted. */
  readonly isConnected: boolean;
  /**
   * Optional meter, cumulative since the upstream was created: what the cloud bills for this route, as
   * its pricing page counts it (docs/operations.md#billed-units). Cheap; called after every delivered
   * batch and whenever status is read.
   */
  stats?(): UpstreamStats;
  connect(signal: AbortSignal): Promise<void>;
  /** Encode and deliver one batch; resolves when the cloud has acknowledged it (or failed). */
  send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult>;
  onCommand(handler: CommandHandler): void;
  /**
   * Optional: a connector that can see a command message before reading it asks `gate` first and drops
   * what it refuses unread. Called at most once, before `connect`.
   */
  setCommandGate?(gate: CommandGate): void;
  /**
   * Optional: told every time an adapter announces a device (availability changes included), in the
   * order the adapters announced them, for upstreams that mirror device state in the cloud (AWS shadows).
   * Called for every device, also ones whose readings this route never carries; must not throw or block.
   * May be called before `connect` and while disconnected.
   */
  onDeviceState?(info: DeviceInfo): void;
  /** Report a command's outcome back to the cloud, in its terms. Retries are the upstream's business. */
  publishResult(
    command: { id: string; device?: string; route?: string },
    result: CommandResult,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * What an upstream may read about the whole gateway, for clouds that report it (the Azure gateway twin):
 * the part of `fieldgate status --json` it uses. Declared here so that no connector imports `src/health/`
 * (health reads the upstreams, never the other way round); the runtime passes the status snapshot, which
 * has this shape.
 */
export interface GatewayStatus {
  version: string;
  uptimeS: number;
  healthy: boolean;
  problems: string[];
  adapters: readonly { name: string; state: string }[];
  routes: readonly {
    name: string;
    forwarder: { state: string; sentReadings: number };
    queue: { depth: number };
  }[];
}
