import { createHash } from 'node:crypto';
import type { DeviceId } from '../../src/model.js';
import type { DecodedAdvert } from './decoders/index.js';

/**
 * What the guard decided about one decoded packet: accept it (`repeat`: the last accepted packet again,
 * as sensors send each one several times; `restarted`: the first packet trusted after the device's counter
 * started again), or why it is refused.
 */
export type GuardVerdict = 'accept' | 'repeat' | 'restarted' | 'notEncrypted' | 'replayed';

/**
 * When a counter that went back is trusted as the sensor's own restart (a battery change starts most
 * firmwares' counters again from 0). See docs/radios.md#keys for why these figures.
 */
export interface RestartPolicy {
  /** Authentic packets with rising counters, all below the old mark, before the new sequence is trusted. */
  packets: number;
  /** The time those packets must span, from the first one; none from the old sequence may come meanwhile. */
  spanMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { packets: 4, spanMs: 10 * 60_000 };

/** The last accepted counter of one keyed device, as kept across restarts (`CounterStore`). */
export interface CounterMark {
  counter: number;
  bits: 8 | 32;
  /** Which key the counter was accepted under (`keyId`); another key starts a new sequence. */
  keyId: string;
  /** A digest of the accepted packet's bytes, to tell its repeats from a different packet. */
  payloadId: string;
  /** When it was accepted (epoch ms); the oldest marks go first when there are too many. */
  at: number;
}

/** A new sequence being watched: the counter went back, and it may be the sensor restarting. */
interface RestartCandidate {
  last: number;
  packets: number;
  firstAt: number;
}

/** Marks beyond this many devices are forgotten, oldest first (a gateway has tens of keyed sensors). */
export const MAX_MARKS = 2000;

/**
 * Encrypted-only and replay protection for devices with a key. Once a device has a key, a packet sent in
 * the clear is refused (anyone can send one with the device's MAC: accepting it would be a downgrade), and
 * an encrypted packet whose counter is not newer than the last accepted one is refused (a recorded packet
 * sent again). A repeat of the last packet itself (same counter, same bytes) is how sensors advertise, not
 * an attack: it passes here and is dropped as a duplicate later.
 *
 * A counter that went back is trusted again only as a restart (`RestartPolicy`): the lower sequence keeps
 * rising for `packets` packets over `spanMs` while the old sequence stays silent. A packet above the old
 * mark meanwhile proves the sensor never restarted, and the watch ends. A new key starts afresh.
 *
 * Marks are plain data (`marks()` / `restore()`) so the adapter can keep them across restarts.
 */
export class PacketGuard {
  private readonly last = new Map<DeviceId, CounterMark>();
  private readonly restarts = new Map<DeviceId, RestartCandidate>();
  /** Set when a mark changed since the last `marks()`. */
  isDirty = false;

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  /**
   * @param keyId the device's key as `keyIdOf` names it, undefined when it has none.
   * @param now the gateway clock (epoch ms).
   */
  check(
    id: DeviceId,
    keyId: string | undefined,
    advert: DecodedAdvert,
    payloadHex: string,
    now: number,
  ): GuardVerdict {
    const encryption = advert.encryption;
    if (encryption === undefined) return keyId === undefined ? 'accept' : 'notEncrypted';
    const payloadId = digest(payloadHex);
    const last = this.last.get(id);
    if (last !== undefined && last.keyId === keyId) {
      const isRepeat = encryption.counter === last.counter && payloadId === last.payloadId;
      if (isRepeat) return 'repeat';
      if (!isNewerCounter(encryption.counter, last.counter, encryption.bits)) {
        if (!this.isRestart(id, encryption.counter, encryption.bits, now)) return 'replayed';
        this.mark(id, { ...encryption, keyId: keyId ?? '', payloadId, at: now });
        return 'restarted';
      }
    }
    this.mark(id, { ...encryption, keyId: keyId ?? '', payloadId, at: now });
    return 'accept';
  }

  /** The marks to keep, and clears `isDirty`. */
  marks(): Map<DeviceId, CounterMark> {
    this.isDirty = false;
    return new Map(this.last);
  }

  /** Marks kept from before a restart; the packets they name, and any older, are refused. */
  restore(marks: ReadonlyMap<DeviceId, CounterMark>): void {
    for (const [id, mark] of marks) if (!this.last.has(id)) this.last.set(id, mark);
  }

  /** Whether this lower counter completes a restart (and so may be trusted); records it otherwise. */
  private isRestart(id: DeviceId, counter: number, bits: 8 | 32, now: number): boolean {
    const candidate = this.restarts.get(id);
    if (candidate === undefined || !isNewerCounter(counter, candidate.last, bits)) {
      // The start of a new sequence, or one that went back again: watch it from here.
      if (candidate?.last !== counter) this.restarts.set(id, { last: counter, packets: 1, firstAt: now });
      return false;
    }
    candidate.last = counter;
    candidate.packets++;
    if (candidate.packets < this.policy.packets || now - candidate.firstAt < this.policy.spanMs) return false;
    this.restarts.delete(id);
    return true;
  }

  private mark(id: DeviceId, mark: CounterMark): void {
    // A packet from the old sequence (or the restart trusted) ends any watch of a lower one.
    this.restarts.delete(id);
    this.last.delete(id);
    this.last.set(id, mark);
    this.isDirty = true;
    if (this.last.size > MAX_MARKS) {
      // Map order is insertion order and `mark` re-inserts: the first entry is the least recently accepted.
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
  }
}

/**
 * Names a key without revealing it: the first 8 bytes of its SHA-256, so a saved counter can tell which
 * key it was accepted under.
 */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function digest(payloadHex: string): string {
  return createHash('sha256').update(payloadHex).digest('hex').slice(0, 16);
}

/**
 * Whether `counter` comes after `last`. 32-bit counters never wrap in a sensor's life, so newer is larger.
 * An 8-bit counter (pvvx) wraps every 256 packets: newer is up to 127 steps ahead (serial number
 * arithmetic, RFC 1982), which is all an 8-bit counter can tell.
 */
export function isNewerCounter(counter: number, last: number, bits: 8 | 32): boolean {
  if (bits === 32) return counter > last;
  const ahead = (counter - last) & 0xff;
  return ahead > 0 && ahead < 0x80;
}
