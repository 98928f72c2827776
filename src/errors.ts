/**
 * Stable error codes (`FG_<AREA>_<WHAT>`). docs/errors.md's table is kept in sync by a unit test.
 */
export const ErrorCodes = {
  FG_CONFIG_INVALID: { exit: 78, retryable: false, summary: 'The configuration file is invalid.' },
  FG_CONFIG_NOT_FOUND: { exit: 78, retryable: false, summary: 'The configuration file cannot be read.' },
  FG_CONFIG_READ_ONLY: {
    exit: 73,
    retryable: false,
    summary: 'The configuration file cannot be written (`devices rename`); nothing was changed.',
  },
  FG_CONFIG_SECRET_MISSING: {
    exit: 78,
    retryable: false,
    summary: 'A `!secret`, `${ENV}` or `*File` reference has no value, or a secret file is not private.',
  },
  FG_QUEUE_CORRUPT: {
    exit: 1,
    retryable: false,
    summary: 'The queue database is damaged and cannot be moved aside, or a fresh one cannot be made.',
  },
  FG_QUEUE_UNREADABLE: {
    exit: 78,
    retryable: false,
    summary: 'The queue database does not open (a missing file, not a directory); nothing was touched.',
  },
  FG_STORAGE_PERMISSION: {
    exit: 78,
    retryable: false,
    summary: 'The state dir or a queue file is not the daemon user’s (owner, mode); nothing was touched.',
  },
  FG_STORAGE_UNAVAILABLE: {
    exit: 75,
    retryable: true,
    summary: 'Queue storage is read-only, failing (EIO) or out of descriptors; the daemon waits and retries.',
  },
  FG_QUEUE_FULL: {
    exit: 75,
    retryable: true,
    summary: 'The queue is at its byte quota or the disk watermark (policy `dropNewest`).',
  },
  FG_QUEUE_NO_SPACE: {
    exit: 75,
    retryable: true,
    summary: 'The filesystem of the queue is full (ENOSPC); nothing was moved or deleted.',
  },
  FG_QUEUE_WRITE_FAILED: {
    exit: 75,
    retryable: true,
    summary: 'A write to the queue database failed (I/O error); writes are refused until it works again.',
  },
  FG_QUEUE_CLOSED: { exit: 1, retryable: false, summary: 'The queue was used after close().' },
  FG_QUEUE_LOCKED: {
    exit: 75,
    retryable: true,
    summary: 'Another process holds the queue database (its LevelDB LOCK file).',
  },
  FG_UPSTREAM_OFFLINE: { exit: 75, retryable: true, summary: 'The upstream is not connected.' },
  FG_UPSTREAM_TIMEOUT: { exit: 75, retryable: true, summary: 'The upstream did not acknowledge in time.' },
  FG_UPSTREAM_AUTH: { exit: 75, retryable: true, summary: 'The upstream refused our credentials.' },
  FG_UPSTREAM_THROTTLED: { exit: 75, retryable: true, summary: 'The upstream asked us to slow down.' },
  FG_UPSTREAM_REJECTED: {
    exit: 1,
    retryable: false,
    summary: 'The upstream permanently refused a message (too large, malformed).',
  },
  FG_ADAPTER_UNAVAILABLE: {
    exit: 75,
    retryable: true,
    summary: 'An adapter cannot reach its radio; it is retried with backoff.',
  },
  FG_ADAPTER_UNKNOWN: {
    exit: 78,
    retryable: false,
    summary: 'The config names an adapter type that does not exist.',
  },
  FG_DEVICE_NOT_REMOVED: {
    exit: 75,
    retryable: true,
    summary: 'The device did not leave its network (Z-Wave: not woken during exclusion); it is still listed.',
  },
  FG_INTERVIEW_FAILED: {
    exit: 75,
    retryable: true,
    summary: 'The device did not answer its re-interview (asleep or out of range); wake it and try again.',
  },
  FG_COMMAND_REJECTED: {
    exit: 1,
    retryable: false,
    summary: 'A command was malformed, for an unknown device, or not supported by it.',
  },
  FG_COMMAND_EXPIRED: {
    exit: 1,
    retryable: false,
    summary: 'A command passed its expiresAt before it could run.',
  },
  FG_DAEMON_UNREACHABLE: {
    exit: 69,
    retryable: true,
    summary: 'The CLI cannot reach the daemon’s control socket.',
  },
  FG_USAGE: { exit: 2, retryable: false, summary: 'The command line is invalid.' },
  FG_NOT_FOUND: {
    exit: 1,
    retryable: false,
    summary: 'The daemon has no such device, adapter or route.',
  },
  FG_INTERNAL: { exit: 1, retryable: false, summary: 'A bug: an invariant did not hold.' },
} as const satisfies Record<string, { exit: number; retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class FieldgateError extends Error {
  override readonly name = 'FieldgateError';
  readonly code: ErrorCode;
  readonly context: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = options.context;
  }
}

export function isFieldgateError(e: unknown, code?: ErrorCode): e is FieldgateError {
  return e instanceof FieldgateError && (code === undefined || e.code === code);
}

/** True when trying again later may succeed (the data is kept). */
export function isRetryable(e: unknown): boolean {
  return isFieldgateError(e) && ErrorCodes[e.code].retryable;
}

/**
 * The process exit code for an error that ends the process (sysexits-style, docs/operations.md#exit-codes).
 */
export function exitCodeFor(e: unknown): number {
  return isFieldgateError(e) ? ErrorCodes[e.code].exit : 1;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
