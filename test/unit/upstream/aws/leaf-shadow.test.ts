import { describe, expect, it } from 'vitest';
import { LeafShadow } from '../../../../src/upstream/aws/leaf-shadow.js';

const leaf = (): LeafShadow =>
  new LeafShadow('sim:switch-01', { thing: 'gw', shadow: 'sim:switch-01' }, '$aws/things/gw/shadow/name/x');

/** A shadow that has been read (no GET owed) and knows `reported`. */
const readShadow = (reported: Record<string, unknown> = {}): LeafShadow => {
  const shadow = leaf();
  shadow.startGet('t0', 0);
  shadow.gotDocument(3, { reported });
  return shadow;
};

describe('LeafShadow', () => {
  it('owes a GET first, then sends only fields that differ from what the service holds', () => {
    const shadow = leaf();
    shadow.report({ state: false, power: 3 });
    expect(shadow.isDue(0, 1000)).toBe(true);
    shadow.startGet('t1', 0);
    expect(shadow.isDue(0, 1000)).toBe(false);
    shadow.gotDocument(7, { reported: { state: false } });
    expect(shadow.version).toBe(7);
    expect(shadow.isDue(5000, 1000)).toBe(true);
    expect(shadow.startUpdate('t2', 5000, () => undefined)).toEqual({ power: 3 });
  });

  it('waits minIntervalMs between updates unless the change is urgent', () => {
    const shadow = readShadow();
    shadow.report({ a: 1 });
    shadow.startUpdate('t1', 1000, () => undefined);
    shadow.updated(4);
    shadow.report({ a: 2 });
    expect(shadow.isDue(1500, 1000)).toBe(false);
    expect(shadow.isDue(2000, 1000)).toBe(true);
    shadow.report({ commandErrors: { a: null } }, true);
    expect(shadow.isDue(1500, 1000)).toBe(true);
  });

  it('on 409 keeps the sent fields under newer pending ones and reads the shadow again', () => {
    const shadow = readShadow();
    shadow.report({ a: 1, b: 1 });
    shadow.startUpdate('t1', 0, () => undefined);
    shadow.report({ b: 2 });
    shadow.conflicted();
    expect(shadow.needsGet).toBe(true);
    expect(shadow.pending).toEqual({ a: 1, b: 2 });
  });

  it('backs off 1 s doubling to 30 s, keeping an update’s fields, and says when an episode starts', () => {
    const shadow = readShadow();
    shadow.report({ a: 1 });
    const pauses: number[] = [];
    let nowMs = 0;
    for (let i = 0; i < 7; i++) {
      shadow.startUpdate(`t${i}`, nowMs, () => undefined);
      const isFirst = shadow.backOff(nowMs);
      expect(isFirst).toBe(i === 0);
      let waitedMs = 0;
      while (!shadow.isDue(nowMs + waitedMs, 0)) waitedMs += 250;
      pauses.push(waitedMs);
      nowMs += waitedMs;
    }
    expect(pauses).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(shadow.pending).toEqual({ a: 1 });
    shadow.startUpdate('ok', nowMs, () => undefined);
    shadow.updated(9);
    expect(shadow.backOff(nowMs)).toBe(true);
  });

  it('leaves out new fields that would pass 8 KB with desired, warning once, but still updates known ones', () => {
    const shadow = leaf();
    shadow.startGet('t0', 0);
    shadow.gotDocument(1, { reported: { a: 1 }, desired: { big: 'x'.repeat(8000) } });
    const warned: string[] = [];
    shadow.report({ a: 2, huge: 'y'.repeat(500), other: 'z'.repeat(500) });
    expect(shadow.startUpdate('t1', 0, (f) => warned.push(f))).toEqual({ a: 2 });
    expect(warned).toEqual(['huge']);
  });

  it('forgets a lost request: an update’s fields are pending again, a lost GET is owed again', () => {
    const shadow = readShadow();
    shadow.report({ a: 1 });
    shadow.startUpdate('t1', 0, () => undefined);
    shadow.requeue();
    expect(shadow.pending).toEqual({ a: 1 });
    shadow.needsGet = true;
    shadow.startGet('t2', 0);
    shadow.requeue();
    expect(shadow.needsGet).toBe(true);
    expect(shadow.inFlight).toBeUndefined();
  });
});
