import type { Envelope } from '../../../model.js';
import type { SendResult } from '../../upstream.js';

/**
 * One batch sent under per-device identities: its items grouped by leaf, and what became of each, turned
 * into one `SendResult` for the forwarder.
 *
 * Items of a leaf that could not be sent — held (no identity, or refused by the hub) or failed (throttled,
 * timed out) — are in neither `acked` nor `rejected`: the queue keeps them and offers them again first,
 * while the other leaves' items in the same batch are acknowledged. That is the `Upstream.send` contract's
 * only way to keep some items of a batch, and it never loses or dead-letters a reading for want of an
 * identity. The price: the forwarder backs off after such a batch as after any send that broke off part-way,
 * and kept items come back at the head of every lease, so a held leaf with more readings queued than one
 * lease holds (`batch.maxItems`) would fill the lease on its own. See the az-id note for the queue-side fix.
 */
export class PerDeviceSend {
  readonly #byLeaf = new Map<string, Envelope[]>();
  readonly #total: number;
  readonly #acked: number[] = [];
  readonly #rejected: { gseq: number; reason: string }[] = [];
  readonly #held: string[] = [];
  readonly #failures: string[] = [];

  constructor(batch: readonly Envelope[]) {
    this.#total = batch.length;
    for (const envelope of batch) {
      const leaf = envelope.reading.device;
      const items = this.#byLeaf.get(leaf);
      if (items === undefined) this.#byLeaf.set(leaf, [envelope]);
      else items.push(envelope);
    }
  }

  /** The batch's leaves, in the order they first appear. */
  leaves(): string[] {
    return [...this.#byLeaf.keys()];
  }

  /** The leaf's items, in batch (FIFO) order. */
  itemsOf(leaf: string): readonly Envelope[] {
    return this.#byLeaf.get(leaf) ?? [];
  }

  ack(gseq: number): void {
    this.#acked.push(gseq);
  }

  reject(gseq: number, reason: string): void {
    this.#rejected.push({ gseq, reason });
  }

  /** The leaf has no usable identity: its items stay queued. */
  hold(leaf: string): void {
    this.#held.push(leaf);
  }

  /** Sending the leaf's items failed part-way or entirely: what was not acknowledged stays queued. */
  fail(leaf: string, reason: string): void {
    this.#failures.push(`${leaf}: ${reason}`);
  }

  result(): SendResult {
    const settled = this.#acked.length + this.#rejected.length;
    if (settled === this.#total) {
      if (this.#rejected.length === 0) return { kind: 'ok' };
      return { kind: 'partial', acked: this.#acked, rejected: this.#rejected };
    }
    if (settled === 0) return { kind: 'retry', reason: this.#reason() };
    return { kind: 'partial', acked: this.#acked, rejected: this.#rejected };
  }

  #reason(): string {
    const parts = [...this.#failures];
    if (this.#held.length > 0) parts.push(`no usable hub identity for ${this.#held.join(', ')}`);
    return parts.length === 0 ? 'aborted' : parts.join('; ');
  }
}
