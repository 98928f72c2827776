import type { Delivery } from 'rhea';
import type { Logger } from '../../logger.js';
import type { CommandStatus } from '../../model.js';
import { incomingId, type IncomingCommand } from '../../commands/incoming.js';
import { settleAlone } from './protocol/amqp-settle.js';

export type Disposition = 'accept' | 'reject';

/**
 * How a command's result settles its C2D message (docs/clouds/azure-iot-hub.md#c2d-settlement): done →
 * accepted (complete), refused or
 * too late → rejected (dead-lettered, never retried); a transient failure is `released` elsewhere.
 */
export const DISPOSITION: Record<CommandStatus, Disposition> = {
  ok: 'accept',
  failed: 'accept',
  unsupported: 'accept',
  rejected: 'reject',
  expired: 'reject',
};

/** Settled command ids remembered, so a redelivery after a reconnect is settled the same way unrun. */
const SETTLED_MEMORY = 1000;

/**
 * The C2D deliveries an AMQP connector holds until their command's result decides how they settle, and how
 * the most recent commands were settled.
 *
 * `receive` runs on rhea's message event, `settle` when the command router hands back the result, and
 * `forgetUnsettled` when the connection drops (a delivery of a dead link cannot be settled; the hub
 * redelivers it, and `receive` settles that redelivery like the first one if it was settled meanwhile).
 * Single-threaded like the rest of the connector; no method throws.
 */
export class C2dDispositions {
  readonly #log: Logger;
  /** Command id → its unsettled C2D delivery. */
  readonly #unsettled = new Map<string, Delivery>();
  readonly #settled = new Map<string, Disposition>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Hand a received C2D command to `take` (the connector's `CommandInbox.dispatch`), holding its delivery
   * until `settle`. A command settled before is settled the same way again without running; when nobody
   * took it (no `take`, or it returned false or threw), the message is released so that the hub delivers it
   * again.
   */
  receive(
    incoming: IncomingCommand,
    delivery: Delivery,
    take: ((incoming: IncomingCommand) => boolean | void) | undefined,
  ): void {
    const id = incomingId(incoming);
    const earlier = this.#settled.get(id);
    if (earlier !== undefined) {
      // A redelivery (we settled it on a link that dropped): the router would not run it again anyway.
      this.#settle(id, delivery, earlier);
      return;
    }
    this.#unsettled.set(id, delivery);
    let isTaken = false;
    try {
      isTaken = take !== undefined && take(incoming) !== false;
    } catch (e) {
      this.#log.error({ err: e, commandId: id }, 'The command handler threw; releasing the message.');
    }
    if (isTaken) return;
    this.#unsettled.delete(id);
    settleAlone(delivery, (d) => d.release());
  }

  /** Settle the C2D message of command `id` by its result; nothing when none is held (not C2D, or dropped). */
  settle(id: string, status: CommandStatus): void {
    const delivery = this.#unsettled.get(id);
    if (delivery === undefined) return;
    this.#unsettled.delete(id);
    this.#settle(id, delivery, DISPOSITION[status]);
  }

  /** The connection dropped: its deliveries can no longer be settled. */
  forgetUnsettled(): void {
    this.#unsettled.clear();
  }

  #settle(id: string, delivery: Delivery, disposition: Disposition): void {
    settleAlone(delivery, (d) => {
      if (disposition === 'accept') d.accept();
      else d.reject({ condition: 'amqp:precondition-failed', description: 'command refused or expired' });
    });
    this.#settled.set(id, disposition);
    if (this.#settled.size > SETTLED_MEMORY) this.#settled.delete(this.#settled.keys().next().value!);
  }
}
