import type { CommandResult } from '../../../model.js';

/** The one job operation the gateway runs: a leaf command through the command router. */
export const COMMAND_OPERATION = 'fieldgate.command';

/** A job document the gateway can run. */
export interface CommandJob {
  device: string;
  name: string;
  args: Record<string, unknown>;
  /** Epoch ms after which the command must not run; the job then ends REJECTED. */
  expiresAt?: number;
}

/**
 * Terminal job execution statuses the gateway reports
 * (docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows).
 */
export type JobOutcomeStatus = 'SUCCEEDED' | 'FAILED' | 'REJECTED';

export interface JobOutcome {
  status: JobOutcomeStatus;
  /** IoT Jobs statusDetails: at most 10 entries, string values. */
  statusDetails: Record<string, string>;
}

/** IoT Jobs keeps statusDetails values short; longer details are cut here rather than refused there. */
const MAX_DETAIL_CHARS = 1000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Read a job document (docs/clouds/aws-iot-core.md, "IoT Jobs"):
 * `{ "operation": "fieldgate.command", "device": "<leaf id>", "name": "<command>", "args"?: {..},
 * "expiresAt"?: epoch ms | ISO date }`. Anything else is a reason to reject the job, never an exception.
 */
export function parseJobDocument(document: unknown): { job: CommandJob } | { reason: string } {
  if (!isObject(document)) return { reason: 'the job document is not a JSON object' };
  const { operation, device, name } = document;
  if (operation !== COMMAND_OPERATION) {
    return { reason: `unknown operation ${JSON.stringify(operation)}; supported: ${COMMAND_OPERATION}` };
  }
  if (typeof device !== 'string' || device.length === 0) {
    return { reason: '"device" must be a non-empty string' };
  }
  if (typeof name !== 'string' || name.length === 0) return { reason: '"name" must be a non-empty string' };
  const args = document.args ?? {};
  if (!isObject(args)) return { reason: '"args" must be an object' };
  const job: CommandJob = { device, name, args };
  if (document.expiresAt !== undefined) {
    const raw = document.expiresAt;
    const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : NaN;
    if (!Number.isFinite(ms)) return { reason: '"expiresAt" must be epoch ms or an ISO date' };
    job.expiresAt = ms;
  }
  return { job };
}

/**
 * A command result in job terms: `ok` → SUCCEEDED, `failed` → FAILED (the device tried), and `rejected`,
 * `expired`, `unsupported` → REJECTED (the gateway did not run it). The result status and detail go into
 * statusDetails so the job console shows why.
 */
export function jobOutcome(result: CommandResult): JobOutcome {
  const status: JobOutcomeStatus =
    result.status === 'ok' ? 'SUCCEEDED' : result.status === 'failed' ? 'FAILED' : 'REJECTED';
  return {
    status,
    statusDetails: {
      result: result.status,
      ...(result.detail === undefined ? {} : { detail: result.detail.slice(0, MAX_DETAIL_CHARS) }),
    },
  };
}

/** A job the gateway refused to start (malformed document, unknown operation). */
export function refusedOutcome(reason: string): JobOutcome {
  return {
    status: 'REJECTED',
    statusDetails: { result: 'rejected', detail: reason.slice(0, MAX_DETAIL_CHARS) },
  };
}
