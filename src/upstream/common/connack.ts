import type { MqttClient } from 'mqtt';
import { FieldgateError } from '../../errors.js';
import { classifyConnectError } from './connect-error.js';

/**
 * Resolves with CONNACK's session-present flag (the broker kept our subscriptions and queued messages).
 * Rejects with a `FieldgateError` on refusal, socket error, close or abort: aborting is
 * `FG_UPSTREAM_OFFLINE` (`reason: 'aborted'`); anything else goes through `classify`, by default the generic
 * CONNACK classification (`FG_UPSTREAM_AUTH` for refused credentials, else `FG_UPSTREAM_OFFLINE`). A cloud
 * that knows more about its failures (AWS: a closed socket without CONNACK is "not authorized") passes its own.
 */
export function waitForConnack(
  client: MqttClient,
  signal: AbortSignal,
  classify: (error: unknown) => FieldgateError = classifyConnectError,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown): void => {
      cleanup();
      reject(error instanceof FieldgateError ? error : classify(error));
    };
    const onConnect = (connack: { sessionPresent: boolean }): void => {
      cleanup();
      resolve(connack.sessionPresent);
    };
    const onError = (e: Error): void => fail(e);
    const onClose = (): void => fail(new Error('connection closed before CONNACK'));
    const onAbort = (): void =>
      fail(
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
