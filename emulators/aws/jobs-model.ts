import { isJsonObject, type JsonObject } from './shadow-document.js';

/**
 * Job execution states (docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows). CANCELED and
 * REMOVED are not produced by the emulator.
 */
export type JobExecutionStatus =
  'QUEUED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'REJECTED' | 'CANCELED' | 'REMOVED';

/** The `code` of a `/rejected` response of the Jobs MQTT API. */
export type JobsErrorCode =
  | 'InvalidTopic'
  | 'InvalidJson'
  | 'InvalidRequest'
  | 'InvalidStateTransition'
  | 'ResourceNotFound'
  | 'VersionMismatch'
  | 'InternalError'
  | 'RequestThrottled'
  | 'TerminalStateReached';

export interface JobsError {
  code: JobsErrorCode;
  message: string;
  /** Present with InvalidStateTransition and VersionMismatch: where the execution stands now. */
  executionState?: JsonObject;
}

/** One thing's execution of one job, as the service keeps it. Times are epoch seconds, as on the wire. */
export interface ExecutionRecord {
  jobId: string;
  thingName: string;
  jobDocument: JsonObject;
  status: JobExecutionStatus;
  statusDetails: Record<string, string>;
  queuedAt: number;
  startedAt?: number;
  lastUpdatedAt: number;
  /** Starts at 1 and grows with every accepted change; `expectedVersion` is compared with it. */
  versionNumber: number;
  executionNumber: number;
  /** The job's default step timeout, used when a start or update names none. */
  defaultStepTimeoutMinutes?: number;
}

/** Statuses a device may set through UpdateJobExecution. */
const DEVICE_SETTABLE = new Set<JobExecutionStatus>(['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED']);
/** Statuses from which a device may still move an execution. */
const PENDING = new Set<JobExecutionStatus>(['QUEUED', 'IN_PROGRESS']);
/** IoT Jobs' step timeout range in minutes (1 minute to 7 days); -1 cancels a running step timer. */
const MAX_STEP_TIMEOUT_MINUTES = 10_080;
/** IoT Jobs allows at most this many statusDetails entries, keys and values strings. */
const MAX_STATUS_DETAILS = 10;

export function isPending(record: ExecutionRecord): boolean {
  return PENDING.has(record.status);
}

/** `{status, statusDetails, versionNumber}`: what rejections and `includeJobExecutionState` carry. */
export function executionState(record: ExecutionRecord): JsonObject {
  return { status: record.status, statusDetails: record.statusDetails, versionNumber: record.versionNumber };
}

/** The full JobExecution object of `/get/accepted`, `start-next/accepted` and `notify-next`. */
export function executionView(record: ExecutionRecord, withDocument: boolean): JsonObject {
  return {
    jobId: record.jobId,
    thingName: record.thingName,
    ...(withDocument ? { jobDocument: record.jobDocument } : {}),
    status: record.status,
    statusDetails: record.statusDetails,
    queuedAt: record.queuedAt,
    ...(record.startedAt === undefined ? {} : { startedAt: record.startedAt }),
    lastUpdatedAt: record.lastUpdatedAt,
    versionNumber: record.versionNumber,
    executionNumber: record.executionNumber,
  };
}

/** A JobExecutionSummary, as listed by GetPendingJobExecutions and `notify`. */
export function executionSummary(record: ExecutionRecord): JsonObject {
  return {
    jobId: record.jobId,
    queuedAt: record.queuedAt,
    ...(record.startedAt === undefined ? {} : { startedAt: record.startedAt }),
    lastUpdatedAt: record.lastUpdatedAt,
    versionNumber: record.versionNumber,
    executionNumber: record.executionNumber,
  };
}

/** A request body: `{}` when empty, a JobsError when it is not a JSON object. */
export function parseRequestBody(payload: Buffer): { body: JsonObject } | { error: JobsError } {
  if (payload.length === 0) return { body: {} };
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return { error: { code: 'InvalidJson', message: 'The request is not valid UTF-8 JSON.' } };
  }
  if (!isJsonObject(body)) {
    return { error: { code: 'InvalidRequest', message: 'The request must be a JSON object.' } };
  }
  return { body };
}

/** `statusDetails` of a request, or why it is invalid; undefined when absent. */
export function parseStatusDetails(
  value: unknown,
): { details: Record<string, string> | undefined } | { error: JobsError } {
  if (value === undefined) return { details: undefined };
  const invalid = (message: string): { error: JobsError } => ({ error: { code: 'InvalidRequest', message } });
  if (!isJsonObject(value)) return invalid('statusDetails must be an object.');
  const entries = Object.entries(value);
  if (entries.length > MAX_STATUS_DETAILS) {
    return invalid(`statusDetails has more than ${MAX_STATUS_DETAILS} entries.`);
  }
  if (!entries.every(([, v]) => typeof v === 'string')) {
    return invalid('statusDetails values must be strings.');
  }
  return { details: value as Record<string, string> };
}

/** `stepTimeoutInMinutes` of a request: 1–10080, or -1 to cancel; undefined when absent. */
export function parseStepTimeout(value: unknown): { minutes: number | undefined } | { error: JobsError } {
  if (value === undefined) return { minutes: undefined };
  const ok =
    typeof value === 'number' &&
    Number.isInteger(value) &&
    (value === -1 || (value >= 1 && value <= MAX_STEP_TIMEOUT_MINUTES));
  return ok
    ? { minutes: value }
    : {
        error: {
          code: 'InvalidRequest',
          message: `stepTimeoutInMinutes must be -1 or 1..${MAX_STEP_TIMEOUT_MINUTES}.`,
        },
      };
}

export interface UpdateRequest {
  status: JobExecutionStatus;
  statusDetails?: Record<string, string>;
  expectedVersion?: number;
  executionNumber?: number;
  stepTimeoutInMinutes?: number;
  includeJobExecutionState: boolean;
  includeJobDocument: boolean;
}

/**
 * Validate an UpdateJobExecution body (docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows)
 * against the execution it addresses.
 */
export function checkUpdate(
  record: ExecutionRecord,
  body: JsonObject,
): { request: UpdateRequest } | { error: JobsError } {
  const invalid = (message: string): { error: JobsError } => ({ error: { code: 'InvalidRequest', message } });
  const status = body.status;
  if (typeof status !== 'string' || !DEVICE_SETTABLE.has(status as JobExecutionStatus)) {
    return invalid('status must be one of IN_PROGRESS, SUCCEEDED, FAILED, REJECTED.');
  }
  const details = parseStatusDetails(body.statusDetails);
  if ('error' in details) return details;
  const step = parseStepTimeout(body.stepTimeoutInMinutes);
  if ('error' in step) return step;
  const { expectedVersion, executionNumber } = body;
  if (expectedVersion !== undefined && !Number.isInteger(expectedVersion)) {
    return invalid('expectedVersion must be an integer.');
  }
  if (executionNumber !== undefined && !Number.isInteger(executionNumber)) {
    return invalid('executionNumber must be an integer.');
  }
  if (executionNumber !== undefined && executionNumber !== record.executionNumber) {
    return {
      error: { code: 'ResourceNotFound', message: `No execution number ${JSON.stringify(executionNumber)}.` },
    };
  }
  if (!isPending(record)) {
    return {
      error: {
        code: 'InvalidStateTransition',
        message: `The execution is ${record.status} and can no longer change.`,
        executionState: executionState(record),
      },
    };
  }
  if (expectedVersion !== undefined && expectedVersion !== record.versionNumber) {
    return {
      error: {
        code: 'VersionMismatch',
        message: `Expected version ${JSON.stringify(expectedVersion)}, the execution is at ${record.versionNumber}.`,
        executionState: executionState(record),
      },
    };
  }
  return {
    request: {
      status: status as JobExecutionStatus,
      ...(details.details === undefined ? {} : { statusDetails: details.details }),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
      ...(step.minutes === undefined ? {} : { stepTimeoutInMinutes: step.minutes }),
      includeJobExecutionState: body.includeJobExecutionState === true,
      includeJobDocument: body.includeJobDocument === true,
    },
  };
}

/** The next pending execution: the oldest IN_PROGRESS one, else the oldest QUEUED one. */
export function nextPending(records: readonly ExecutionRecord[]): ExecutionRecord | undefined {
  const byAge = (a: ExecutionRecord, b: ExecutionRecord): number => a.queuedAt - b.queuedAt;
  const inProgress = records.filter((r) => r.status === 'IN_PROGRESS').sort(byAge);
  return inProgress[0] ?? records.filter((r) => r.status === 'QUEUED').sort(byAge)[0];
}
