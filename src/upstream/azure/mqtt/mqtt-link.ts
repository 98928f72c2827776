import type { MqttClient } from 'mqtt';

/**
 * Small waits over one mqtt.js client that end in a reason instead of hanging: the connection closing, the
 * caller aborting, or a deadline. The Azure connector builds its publish and connect steps on these.
 */

/**
 * The first of: `work` settling (undefined on success, its message on failure), the connection closing
 * (`'connection lost'`), the signal aborting (`'aborted'`) or `timeoutMs` passing (`'timeout'`).
 */
export async function within(
  client: MqttClient,
  signal: AbortSignal,
  timeoutMs: number,
  work: Promise<unknown>,
): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onClose: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  const failed = new Promise<string>((resolve) => {
    onClose = () => resolve('connection lost');
    onAbort = () => resolve('aborted');
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    client.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) resolve('aborted');
    else if (!client.connected) resolve('connection lost');
  });
  const done = work.then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  try {
    return await Promise.race([done, failed]);
  } finally {
    clearTimeout(timer);
    client.off('close', onClose!);
    signal.removeEventListener('abort', onAbort!);
  }
}
