import type { CommandResult } from '../../src/model.js';

/**
 * How a zwave-js `setValue` ended: it resolved with a Supervision result (or nothing, when the command
 * was sent unsupervised), or it threw a ZWaveError, named here by its `ZWaveErrorCodes` member.
 */
export type WriteOutcome =
  | { kind: 'sent'; supervision?: { status: number; remainingDurationMs?: number } }
  | { kind: 'error'; errorCode: string | undefined; message: string };

/** Supervision CC status values (Z-Wave Supervision Command Class). */
const SUPERVISION = { noSupport: 0x00, working: 0x01, fail: 0x02, success: 0xff } as const;

/** zwave-js error codes whose meaning is not "the device failed": by name, to the result status. */
const ERROR_STATUS: Record<string, Pick<CommandResult, 'status' | 'detail'>> = {
  // The message outlived its `expire` while queued (e.g. for a sleeping node): it was never sent.
  Controller_MessageExpired: { status: 'expired', detail: 'the command expired before the device woke up' },
  Controller_NodeTimeout: { status: 'failed', detail: 'timeout: the device did not respond' },
  Controller_Timeout: { status: 'failed', detail: 'timeout: the controller did not respond' },
  Controller_MessageDropped: { status: 'failed', detail: 'the device is unreachable (dead)' },
  Controller_CallbackNOK: { status: 'failed', detail: 'the device did not acknowledge the command' },
  Argument_Invalid: { status: 'rejected', detail: 'invalid arguments' },
  CC_NotSupported: { status: 'unsupported', detail: 'the device does not support this command' },
  CC_NotImplemented: { status: 'unsupported', detail: 'zwave-js cannot send this command' },
};

/** Turns the outcome of a write into the command's one result. */
export function toCommandResult(id: string, outcome: WriteOutcome): CommandResult {
  if (outcome.kind === 'error') {
    const known = outcome.errorCode === undefined ? undefined : ERROR_STATUS[outcome.errorCode];
    const detail = known?.detail === undefined ? outcome.message : `${known.detail}: ${outcome.message}`;
    return { id, status: known?.status ?? 'failed', detail };
  }
  const supervision = outcome.supervision;
  if (supervision === undefined) return { id, status: 'ok', detail: 'sent (unsupervised)' };
  switch (supervision.status) {
    case SUPERVISION.success:
      return { id, status: 'ok', detail: 'confirmed by the device (supervised)' };
    case SUPERVISION.working:
      return {
        id,
        status: 'ok',
        detail: 'accepted, the device is still working on it',
        data: { remainingDurationMs: supervision.remainingDurationMs ?? null },
      };
    case SUPERVISION.fail:
      return { id, status: 'failed', detail: 'the device reported that it could not execute the command' };
    case SUPERVISION.noSupport:
      return { id, status: 'unsupported', detail: 'the device does not support this command' };
    default:
      return { id, status: 'failed', detail: `unknown supervision status ${supervision.status}` };
  }
}
