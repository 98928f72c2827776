import { randomUUID } from 'node:crypto';

/** Which outcomes the sender wants feedback for (`iothub-ack`, docs/clouds/azure-iot-hub.md#c2d). */
export type FeedbackAck = 'none' | 'positive' | 'negative' | 'full';
export type FeedbackStatus = 'Success' | 'Expired' | 'DeliveryCountExceeded' | 'Rejected';

export interface C2dMessage {
  messageId: string;
  deviceId: string;
  body: Buffer;
  /** Application properties. */
  properties: Record<string, string>;
  ack: FeedbackAck;
  enqueuedAt: number;
  expiresAt: number;
  sequenceNumber: number;
  deliveryCount: number;
  lockToken?: string;
  lockedUntil?: number;
}

/** One feedback record as the service-side feedback receiver gets it. */
export interface FeedbackRecord {
  originalMessageId: string;
  deviceId: string;
  statusCode: FeedbackStatus;
  description: string;
  enqueuedTimeUtc: string;
}

export interface SendC2dInput {
  body: Buffer | string;
  messageId?: string;
  properties?: Record<string, string>;
  /** Default 1 h, the hub's default TTL. */
  ttlMs?: number;
  ack?: FeedbackAck;
}

export interface C2dQueuesOptions {
  now?: () => number;
  /** The hub's per-device queue depth: 50. */
  maxDepth?: number;
  /** The hub's fixed lock (visibility) timeout: 60 s. */
  lockMs?: number;
  /** 1–100 in the hub, default 10. */
  maxDeliveryCount?: number;
  /** Told of every delivery of a message to the device, redeliveries included (the hub bills those). */
  onDeliver?: (message: C2dMessage) => void;
}

/** Thrown by `enqueue` when a device's queue holds `maxDepth` messages (hub error 403004). */
export class QueueDepthExceededError extends Error {
  readonly status = 403004;
}

/**
 * The hub's cloud-to-device engine (docs/clouds/azure-iot-hub.md#c2d): a FIFO per device of at most 50
 * messages; receive locks
 * a message for 60 s; complete removes it, reject dead-letters it, abandon returns it and counts a delivery
 * (a lock that merely times out does not count); expired messages are dead-lettered unseen; every end
 * produces a feedback record when the message's `ack` asks for it. No I/O; the clock is injected.
 */
export class C2dQueues {
  readonly #queues = new Map<string, C2dMessage[]>();
  readonly #feedback: FeedbackRecord[] = [];
  readonly #feedbackListeners = new Set<(record: FeedbackRecord) => void>();
  readonly #now: () => number;
  readonly #maxDepth: number;
  readonly #lockMs: number;
  readonly #maxDeliveryCount: number;
  readonly #onDeliver: (message: C2dMessage) => void;
  #sequence = 0;

  constructor(options: C2dQueuesOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxDepth = options.maxDepth ?? 50;
    this.#lockMs = options.lockMs ?? 60_000;
    this.#maxDeliveryCount = options.maxDeliveryCount ?? 10;
    this.#onDeliver = options.onDeliver ?? (() => undefined);
  }

  enqueue(deviceId: string, input: SendC2dInput): C2dMessage {
    const queue = this.#queue(deviceId);
    this.#expire(queue);
    if (queue.length >= this.#maxDepth) {
      throw new QueueDepthExceededError(
        `device ${deviceId} already has ${this.#maxDepth} C2D messages queued`,
      );
    }
    const now = this.#now();
    const message: C2dMessage = {
      messageId: input.messageId ?? randomUUID(),
      deviceId,
      body: typeof input.body === 'string' ? Buffer.from(input.body) : input.body,
      properties: input.properties ?? {},
      ack: input.ack ?? 'none',
      enqueuedAt: now,
      expiresAt: now + (input.ttlMs ?? 3_600_000),
      sequenceNumber: ++this.#sequence,
      deliveryCount: 0,
    };
    queue.push(message);
    return message;
  }

  /**
   * Lock and return the oldest visible message, or undefined. `lockMs` overrides the lock: MQTT hands a
   * message to the session until PUBACK, so its lock never times out (`Infinity`).
   */
  receive(deviceId: string, lockMs = this.#lockMs): C2dMessage | undefined {
    const queue = this.#queue(deviceId);
    this.#expire(queue);
    const now = this.#now();
    const message = queue.find((m) => m.lockedUntil === undefined || m.lockedUntil <= now);
    if (message === undefined) return undefined;
    message.lockToken = randomUUID();
    message.lockedUntil = now + lockMs;
    this.#onDeliver(message);
    return message;
  }

  /** False when the lock token is unknown or its lock ran out (the hub's 412 / message-lock-lost). */
  complete(deviceId: string, lockToken: string): boolean {
    const message = this.#locked(deviceId, lockToken);
    if (message === undefined) return false;
    this.#remove(message, 'Success', 'Success');
    return true;
  }

  reject(deviceId: string, lockToken: string): boolean {
    const message = this.#locked(deviceId, lockToken);
    if (message === undefined) return false;
    this.#remove(message, 'Rejected', 'Message rejected by the device');
    return true;
  }

  abandon(deviceId: string, lockToken: string): boolean {
    const message = this.#locked(deviceId, lockToken);
    if (message === undefined) return false;
    message.deliveryCount += 1;
    delete message.lockToken;
    delete message.lockedUntil;
    if (message.deliveryCount >= this.#maxDeliveryCount) {
      this.#remove(message, 'DeliveryCountExceeded', 'Message abandoned too many times');
    }
    return true;
  }

  /**
   * Drop a lock without counting a delivery, as when a lock times out: the message is visible again at
   * once. MQTT uses it when the session that held the message ends unacknowledged (a clean session, or a
   * persistent one taken over by a clean one). False when the lock is not the message's current one.
   */
  release(deviceId: string, lockToken: string): boolean {
    const message = this.#queue(deviceId).find((m) => m.lockToken === lockToken);
    if (message === undefined) return false;
    delete message.lockToken;
    delete message.lockedUntil;
    return true;
  }

  /**
   * Dead-letter every expired, unlocked message of every device (with `Expired` feedback). The hub does
   * this on its own clock; the emulator calls it from a timer, so feedback does not wait for the device's
   * queue to be touched.
   */
  sweep(): void {
    for (const queue of this.#queues.values()) this.#expire(queue);
  }

  /** Called with every feedback record as it is produced; returns the function that stops the calls. */
  onFeedback(listener: (record: FeedbackRecord) => void): () => void {
    this.#feedbackListeners.add(listener);
    return () => this.#feedbackListeners.delete(listener);
  }

  /** Messages waiting for a device, locked ones included. */
  depth(deviceId: string): number {
    return this.#queue(deviceId).length;
  }

  feedback(): FeedbackRecord[] {
    return [...this.#feedback];
  }

  #queue(deviceId: string): C2dMessage[] {
    let queue = this.#queues.get(deviceId);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(deviceId, queue);
    }
    return queue;
  }

  #locked(deviceId: string, lockToken: string): C2dMessage | undefined {
    const message = this.#queue(deviceId).find((m) => m.lockToken === lockToken);
    if (message?.lockedUntil === undefined || message.lockedUntil <= this.#now()) return undefined;
    return message;
  }

  /** Dead-letter every expired message that is not locked (a locked one can still be completed). */
  #expire(queue: C2dMessage[]): void {
    const now = this.#now();
    for (const message of [...queue]) {
      const isLocked = message.lockedUntil !== undefined && message.lockedUntil > now;
      if (message.expiresAt <= now && !isLocked) this.#remove(message, 'Expired', 'Message expired');
    }
  }

  #remove(message: C2dMessage, status: FeedbackStatus, description: string): void {
    const queue = this.#queue(message.deviceId);
    queue.splice(queue.indexOf(message), 1);
    const wanted =
      message.ack === 'full' ||
      (message.ack === 'positive' && status === 'Success') ||
      (message.ack === 'negative' && status !== 'Success');
    if (!wanted) return;
    const record: FeedbackRecord = {
      originalMessageId: message.messageId,
      deviceId: message.deviceId,
      statusCode: status,
      description,
      enqueuedTimeUtc: new Date(this.#now()).toISOString(),
    };
    this.#feedback.push(record);
    for (const listener of this.#feedbackListeners) listener(record);
  }
}
