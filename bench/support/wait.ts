/**
 * Polls `condition` every `pollMs` until it holds. Fails with `what` after `timeoutMs`, or at once with the
 * message `abortIf` returns (a child process that died, say).
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  abortIf?: () => string | undefined,
  pollMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    const abort = abortIf?.();
    if (abort !== undefined) throw new Error(abort);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
