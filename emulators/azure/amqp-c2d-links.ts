import type { Connection, Delivery, Sender } from 'rhea';
import { fromPropertyBag } from '../../src/upstream/azure/protocol/amqp-message.js';
import type { C2dQueues } from './c2d-queue.js';

/** How the device settled a C2D delivery, as the C2D engine names it. */
export type C2dOutcome = 'complete' | 'reject' | 'abandon';

/**
 * The devicebound (C2D) links of the emulator's AMQP front end (docs/clouds/azure-iot-hub.md#cbs-put-token),
 * after the front end
 * authorized their attach: `pump` hands a device's queued C2D messages to its links while they have
 * credit, each with its lock token, sequence number and delivery count as message annotations; `settle`
 * maps the device's disposition of one of them onto the C2D engine and pumps again.
 */
export class AmqpC2dLinks {
  readonly #c2d: C2dQueues;
  readonly #links = new Map<string, Set<Sender>>();
  readonly #locks = new WeakMap<Delivery, { deviceId: string; lockToken: string }>();

  constructor(c2d: C2dQueues) {
    this.#c2d = c2d;
  }

  add(deviceId: string, sender: Sender): void {
    const links = this.#links.get(deviceId) ?? new Set<Sender>();
    links.add(sender);
    this.#links.set(deviceId, links);
  }

  /** Forget a link (detached) or every link of a connection (gone). */
  drop(match: { sender?: Sender; connection?: Connection }): void {
    for (const links of this.#links.values()) {
      for (const link of links) {
        if (link === match.sender || link.connection === match.connection) links.delete(link);
      }
    }
  }

  isConnected(deviceId: string): boolean {
    return (this.#links.get(deviceId)?.size ?? 0) > 0;
  }

  pump(deviceId: string): void {
    for (const link of this.#links.get(deviceId) ?? []) {
      while (link.sendable()) {
        const message = this.#c2d.receive(deviceId);
        if (message === undefined) return;
        const amqp = fromPropertyBag(
          {
            '$.mid': message.messageId,
            '$.to': `/devices/${deviceId}/messages/deviceBound`,
            '$.exp': new Date(message.expiresAt).toISOString(),
            ...message.properties,
            'iothub-ack': message.ack,
          },
          message.body,
        );
        amqp.message_annotations = {
          'x-opt-lock-token': message.lockToken,
          'x-opt-sequence-number': message.sequenceNumber,
          'iothub-deliverycount': message.deliveryCount,
        };
        const delivery = link.send(amqp);
        this.#locks.set(delivery, { deviceId, lockToken: message.lockToken! });
      }
    }
  }

  /** A disposition arrived; deliveries that were not C2D messages are ignored. */
  settle(delivery: Delivery, outcome: C2dOutcome): void {
    const lock = this.#locks.get(delivery);
    if (lock === undefined) return;
    this.#locks.delete(delivery);
    this.#c2d[outcome](lock.deviceId, lock.lockToken);
    this.pump(lock.deviceId);
  }
}
