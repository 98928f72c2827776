/**
 * Polls `condition` until it holds, failing with `what` after `timeoutMs`. Generous by default: the test
 * machine is slow and shared, and a poll costs nothing when the condition is already true.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
