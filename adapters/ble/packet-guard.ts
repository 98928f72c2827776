import type { DeviceId } from '../../src/model.js';
import type { DecodedAdvert } from './decoders/index.js';

/**
 * What the guard decided about one decoded packet: accept it (`repeat`: the last accepted packet again,
 * as sensors send each one several times), or why it is refused.
 */
export type GuardVerdict = 'accept' | 'repeat' | 'notEncrypted' | 'replayed';

/**
 * Encrypted-only and replay protection for devices with a key. Once a device has a key, a packet sent in
 * the clear is refused (anyone can send one with the device's MAC: accepting it would be a downgrade), and
 * an encrypted packet whose counter is not newer than the last accepted one is refused (a recorded packet
 * sent again). A repeat of the last packet itself (same counter, same bytes) is how sensors advertise, not
 * an attack: it passes here and is dropped as a duplicate later.
 *
 * Counters are kept in memory: after a restart the first authentic packet sets the mark again.
 */
export class PacketGuard {
  private readonly last = new Map<DeviceId, { counter: number; payloadHex: string }>();

  check(id: DeviceId, hasKey: boolean, advert: DecodedAdvert, payloadHex: string): GuardVerdict {
    const encryption = advert.encryption;
    if (encryption === undefined) return hasKey ? 'notEncrypted' : 'accept';
    const last = this.last.get(id);
    if (last !== undefined) {
      const isRepeat = encryption.counter === last.counter && payloadHex === last.payloadHex;
      if (isRepeat) return 'repeat';
      if (!isNewerCounter(encryption.counter, last.counter, encryption.bits)) return 'replayed';
    }
    this.last.set(id, { counter: encryption.counter, payloadHex });
    return 'accept';
  }
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
