import type { MqttClient } from 'mqtt';
import { FieldgateError } from '../../errors.js';
import { classifyConnectError } from './connect-error.js';

/** Resolves on CONNACK; rejects with a classified error on refusal, socket error, close or abort. */
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
