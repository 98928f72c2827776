import type { MqttClient } from 'mqtt';
import { FieldgateError } from '../../errors.js';
import { classifyConnectError } from '../mqtt/classify.js';

/**
 * Small waits over one mqtt.js client that end in a reason instead of hanging: the connection closing, the
 * caller aborting, or a deadline. The Azure connector builds its publish and connect steps on these.
 */

/** Resolves on CONNACK; rejects with a classified retryable error on refusal, close, socket error or abort. */
export function waitForConnack(client: MqttClient, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error instanceof FieldgateError ? error : classifyConnectError(error));
    };
    const onConnect = (): void => settle();
    const onError = (e: Error): void => settle(e);
    const onClose = (): void => settle(new Error('connection closed before CONNACK'));
    const onAbort = (): void =>
      settle(
        new FieldgateError('FG_UPSTREAM_OFFLINE', 'Connecting was aborted.', {
          context: { reason: 'aborted' },
        }),
      );
    client.once('connect', onConnect);
    client.once('error', onError);
    client.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}

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
