import type { MqttClient } from 'mqtt';

/**
 * The first reason an MQTT exchange must stop waiting: the connection closed, the caller aborted, or
 * (with `idleTimeoutMs`) nothing was acknowledged for that long. `touch()` restarts that clock on
 * progress; `dispose()` removes every listener and timer.
 */
export class ExchangeGuard {
  readonly reason: Promise<string>;
  current: string | undefined;
  readonly #client: MqttClient;
  readonly #signal: AbortSignal;
  readonly #idleTimeoutMs: number | undefined;
  #resolve!: (reason: string) => void;
  #timer: NodeJS.Timeout | undefined;
  readonly #onClose = (): void => this.fail('connection lost');
  readonly #onAbort = (): void => this.fail('aborted');

  constructor(client: MqttClient, signal: AbortSignal, idleTimeoutMs?: number) {
    this.reason = new Promise((resolve) => (this.#resolve = resolve));
    this.#client = client;
    this.#signal = signal;
    this.#idleTimeoutMs = idleTimeoutMs;
    client.once('close', this.#onClose);
    signal.addEventListener('abort', this.#onAbort, { once: true });
    if (signal.aborted) this.fail('aborted');
    else if (!client.connected) this.fail('connection lost');
    this.touch();
  }

  fail(reason: string): void {
    if (this.current !== undefined) return;
    this.current = reason;
    this.#resolve(reason);
  }

  touch(): void {
    clearTimeout(this.#timer);
    if (this.current === undefined && this.#idleTimeoutMs !== undefined) {
      this.#timer = setTimeout(() => this.fail('timeout'), this.#idleTimeoutMs);
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#client.off('close', this.#onClose);
    this.#signal.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * The first of: `work` settling (undefined on success, its message on failure), the connection closing
 * (`'connection lost'`), the signal aborting (`'aborted'`) or `timeoutMs` passing (`'timeout'`). A one-shot
 * exchange over an `ExchangeGuard`, for callers that never report progress.
 */
export async function within(
  client: MqttClient,
  signal: AbortSignal,
  timeoutMs: number,
  work: Promise<unknown>,
): Promise<string | undefined> {
  const guard = new ExchangeGuard(client, signal, timeoutMs);
  const done = work.then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  try {
    return await Promise.race([done, guard.reason]);
  } finally {
    guard.dispose();
  }
}

/** One MQTT message as a connector publishes it; QoS 1 unless it says 0. */
export interface MqttMessage {
  topic: string;
  payload: Buffer;
  qos?: 0 | 1;
}

/**
 * Publish one message and wait for it: true once acknowledged (PUBACK; at QoS 0, once written), false when
 * the client is not connected, the connection closes, the publish fails or `ackTimeoutMs` passes first.
 * For results and control messages, which nobody aborts; batches pipeline with an `ExchangeGuard` instead.
 */
export async function publishAcked(
  client: MqttClient | undefined,
  message: MqttMessage,
  ackTimeoutMs: number,
): Promise<boolean> {
  if (client?.connected !== true) return false;
  const published = client.publishAsync(message.topic, message.payload, { qos: message.qos ?? 1 });
  return (await within(client, new AbortController().signal, ackTimeoutMs, published)) === undefined;
}
