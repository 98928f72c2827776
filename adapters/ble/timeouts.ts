import { FieldgateError } from '../../src/errors.js';

/**
 * Settles like `work`, but rejects with FG_ADAPTER_UNAVAILABLE after `timeoutMs` or when `signal` aborts,
 * whichever comes first. noble's promises never settle when a device vanishes mid-operation, so every
 * radio call the adapter awaits goes through here.
 */
export async function bounded<T>(
  work: Promise<T>,
  timeoutMs: number,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FieldgateError('FG_ADAPTER_UNAVAILABLE', `${what} timed out`)),
      timeoutMs,
    );
    onAbort = () => reject(new FieldgateError('FG_ADAPTER_UNAVAILABLE', `${what} was aborted`));
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  // A late rejection of `work` after the limit won must not surface as an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
