import { describe, expect, it } from 'vitest';
import type { DecodedAdvert } from '../../../../adapters/ble/decoders/index.js';
import { MAX_MARKS, PacketGuard, keyIdOf } from '../../../../adapters/ble/packet-guard.js';

const MINUTE = 60_000;
const KEY = keyIdOf(Buffer.alloc(16, 1));

/** An authentic packet with this counter (the bytes differ per counter, as a sensor's do). */
function sealed(counter: number, bits: 8 | 32 = 32): [DecodedAdvert, string] {
  return [
    { format: 'bthome', values: { temperature: counter }, units: {}, encryption: { counter, bits } },
    `41${counter.toString(16).padStart(8, '0')}`,
  ];
}

describe('PacketGuard', () => {
  it('trusts a counter that started over only after 4 rising packets spanning 10 minutes', () => {
    const guard = new PacketGuard();
    expect(guard.check('d', KEY, ...sealed(9000), 0)).toBe('accept');
    // Four rising packets within two minutes: too quick to tell a restart from a recording played back.
    expect([0, 1, 2, 3].map((c) => guard.check('d', KEY, ...sealed(c), c * 30_000))).toEqual([
      'replayed',
      'replayed',
      'replayed',
      'replayed',
    ]);
    expect(guard.check('d', KEY, ...sealed(4), 9 * MINUTE)).toBe('replayed');
    expect(guard.check('d', KEY, ...sealed(5), 10 * MINUTE)).toBe('restarted');
    expect(guard.check('d', KEY, ...sealed(6), 10 * MINUTE)).toBe('accept');
    expect(guard.check('d', KEY, ...sealed(5), 11 * MINUTE)).toBe('replayed');
  });

  it('starts watching again when the lower sequence goes back, and the old one ends the watch', () => {
    const guard = new PacketGuard();
    guard.check('d', KEY, ...sealed(9000), 0);
    guard.check('d', KEY, ...sealed(5), 0);
    guard.check('d', KEY, ...sealed(6), 4 * MINUTE);
    guard.check('d', KEY, ...sealed(2), 8 * MINUTE); // went back: a new watch from 8 minutes
    guard.check('d', KEY, ...sealed(3), 12 * MINUTE);
    guard.check('d', KEY, ...sealed(4), 16 * MINUTE);
    expect(guard.check('d', KEY, ...sealed(5), 17 * MINUTE)).toBe('replayed');
    expect(guard.check('d', KEY, ...sealed(9001), 18 * MINUTE)).toBe('accept');
    expect(guard.check('d', KEY, ...sealed(6), 30 * MINUTE)).toBe('replayed');
  });

  it('refuses what a restored mark names, and starts afresh under another key', () => {
    const before = new PacketGuard();
    before.check('d', KEY, ...sealed(70), 0);
    expect(before.isDirty).toBe(true);
    const marks = before.marks();
    expect(before.isDirty).toBe(false);

    const after = new PacketGuard();
    after.restore(marks);
    expect(after.check('d', KEY, ...sealed(70), 1)).toBe('repeat');
    expect(after.check('d', KEY, ...sealed(69), 1)).toBe('replayed');
    expect(after.check('d', keyIdOf(Buffer.alloc(16, 2)), ...sealed(1), 1)).toBe('accept');
  });

  it('keeps at most MAX_MARKS devices, forgetting the least recently accepted', () => {
    const guard = new PacketGuard();
    for (let n = 0; n <= MAX_MARKS; n++) guard.check(`d${n}`, KEY, ...sealed(5), n);
    const marks = guard.marks();
    expect(marks.size).toBe(MAX_MARKS);
    expect(marks.has('d0')).toBe(false);
    expect(marks.has(`d${MAX_MARKS}`)).toBe(true);
  });

  it('refuses plain packets from a keyed device and names keys without revealing them', () => {
    const guard = new PacketGuard();
    const plain: DecodedAdvert = { format: 'bthome', values: { temperature: 1 }, units: {} };
    expect(guard.check('d', KEY, plain, '40', 0)).toBe('notEncrypted');
    expect(guard.check('e', undefined, plain, '40', 0)).toBe('accept');
    expect(KEY).toMatch(/^[0-9a-f]{16}$/);
  });
});
