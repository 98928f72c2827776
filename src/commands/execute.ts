import { errorMessage, FieldgateError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CommandResult, DeviceCommand, DeviceId } from '../model.js';
import type { StoredCommand } from './command-store.js';
import { MAX_TIMER_MS } from './expiry-timer.js';
import { checked, expired, failed } from './results.js';

/** What the router needs of an adapter, per device (a subset of the `Adapter` contract). */
export interface CommandTarget {
  /** Run one command now. Device-side failures are results; a throw is answered as `failed`. */
  execute(cmd: DeviceCommand, signal: AbortSignal): Promise<CommandResult>;
  /** False while the device sleeps: its commands are held until `deviceAwake`. */
  isReachable(id: DeviceId): boolean;
}

/**
 * Run one command on its adapter under its deadline (`expiresAt`) and the router's `stopping` signal; both
 * reach the adapter through the one signal it is given. Resolves with the adapter's result (checked, under
 * the command's id), `failed` when the adapter threw, `expired` when the deadline passed first, or
 * undefined when `stopping` aborted first: that command has no result yet and stays stored. Never rejects.
 * An adapter that ignores its signal is not waited for.
 */
export async function executeCommand(
  target: CommandTarget,
  command: StoredCommand['command'],
  context: { stopping: AbortSignal; now: () => number; log: Logger },
): Promise<CommandResult | undefined> {
  const deadline = new AbortController();
  const delayMs = Math.max(0, command.expiresAt - context.now());
  // A deadline beyond the timer range is left unarmed: no execution waits that long.
  const timer =
    delayMs <= MAX_TIMER_MS
      ? setTimeout(() => deadline.abort(new FieldgateError('FG_COMMAND_EXPIRED', 'command expired')), delayMs)
      : undefined;
  const signal = AbortSignal.any([deadline.signal, context.stopping]);
  let result: CommandResult | undefined;
  try {
    context.log.debug({ commandId: command.id, device: command.device }, 'Executing a command.');
    result = await untilAborted(invoke(target, command, signal), signal);
  } catch (e) {
    context.log.warn(
      { err: e, commandId: command.id, device: command.device },
      'The adapter threw while executing a command; it was answered as failed.',
    );
    return failed(command.id, errorMessage(e));
  } finally {
    clearTimeout(timer);
  }
  if (result !== undefined) return checked(command.id, result);
  return context.stopping.aborted
    ? undefined
    : expired(command.id, 'expired while the device was executing it');
}

/** Run `execute` on a copy of the command, turning a synchronous throw into a rejection. */
async function invoke(
  target: CommandTarget,
  command: DeviceCommand,
  signal: AbortSignal,
): Promise<CommandResult> {
  return target.execute(structuredClone(command), signal);
}

/** `work`'s outcome, or undefined as soon as `signal` aborts (an adapter may ignore its signal). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
