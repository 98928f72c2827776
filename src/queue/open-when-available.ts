import { isFieldgateError } from '../errors.js';

/**
 * Opens something that lives on storage which may be unusable for a while (read-only mount, I/O error, out
 * of descriptors: `FG_STORAGE_UNAVAILABLE`), trying again every `retryMs` until it opens. Any other error
 * is thrown at once. Resolves with undefined when `signal` aborts while waiting.
 *
 * A daemon that exited on such storage would be restarted into the same failure until systemd's start limit
 * gives up, and stay down once the disk is back; waiting keeps it up and able to say why.
 */
export async function openWhenAvailable<T>(options: {
  open: () => Promise<T>;
  retryMs: number;
  signal: AbortSignal;
  /** Each failed attempt, with the reason; `isFirst` on the first of an episode. */
  onUnavailable: (reason: string, isFirst: boolean) => Promise<void>;
  /** The open succeeded after at least one failed attempt. */
  onAvailableAgain: () => void;
}): Promise<T | undefined> {
  const { signal, retryMs } = options;
  let isWaiting = false;
  for (;;) {
    try {
      const opened = await options.open();
      if (isWaiting) options.onAvailableAgain();
      return opened;
    } catch (e) {
      if (!isFieldgateError(e, 'FG_STORAGE_UNAVAILABLE')) throw e;
      await options.onUnavailable(e.message, !isWaiting);
      isWaiting = true;
    }
    // A stop that came while the attempt or its report ran fires no 'abort' event during the wait below.
    if (signal.aborted) return undefined;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, retryMs);
      signal.addEventListener('abort', wake, { once: true });
    });
    if (signal.aborted) return undefined;
  }
}
