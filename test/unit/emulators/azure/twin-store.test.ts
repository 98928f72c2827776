import { describe, expect, it } from 'vitest';
import { TwinPatchError, TwinStore, type TwinOperation } from '../../../../emulators/azure/twin-store.js';

/** `{ l1: { l2: … { l<levels>: { leaf: 1 } } } }`: `levels` objects nested below the section. */
function nested(levels: number): Record<string, unknown> {
  let document: Record<string, unknown> = { leaf: 1 };
  for (let level = levels; level >= 1; level -= 1) document = { [`l${level}`]: document };
  return document;
}

describe('the emulated twin store’s key and depth rules', () => {
  // https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-device-twins#tags-and-properties-format
  it.each([['a.b'], ['$x'], ['with space'], ['tab\there'], ['c1\u0085']])(
    'refuses the key %j with 400 and keeps the section unchanged',
    (key) => {
      const twins = new TwinStore();
      twins.patchReported('d', { ok: 1 });
      for (const patch of [{ [key]: 1 }, { outer: { [key]: 1 } }]) {
        expect(() => twins.patchReported('d', patch)).toThrow(TwinPatchError);
        expect(() => twins.updateDesired('d', patch)).toThrow(expect.objectContaining({ status: 400 }));
      }
      expect(twins.get('d').reported).toEqual({ ok: 1, $version: 2 });
      expect(twins.get('d').desired).toEqual({ $version: 1 });
    },
  );

  it('accepts keys with other punctuation and non-ASCII letters', () => {
    const twins = new TwinStore();
    expect(twins.patchReported('d', { 'a-b_c:d/é': 1 })).toBe(2);
  });

  it('accepts 10 levels of objects below the section and refuses 11', () => {
    const twins = new TwinStore();
    expect(twins.updateDesired('d', nested(10))).toBe(2);
    expect(() => twins.updateDesired('d', nested(11))).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => twins.patchReported('d', nested(11))).toThrow(TwinPatchError);
  });

  it('reports reads and accepted patches with their sizes for the meter, and nothing for a refused one', () => {
    const operations: TwinOperation[] = [];
    const twins = new TwinStore({ onOperation: (op) => operations.push(op) });
    twins.patchReported('d', { a: 1 });
    twins.updateDesired('d', { b: 'x' });
    twins.read('d');
    twins.get('d');
    expect(() => twins.patchReported('d', { 'a.b': 1 })).toThrow();
    expect(operations).toEqual([
      { kind: 'twinUpdate', bytes: Buffer.byteLength('{"a":1}') },
      { kind: 'twinUpdate', bytes: Buffer.byteLength('{"b":"x"}') },
      { kind: 'twinRead', bytes: Buffer.byteLength(JSON.stringify(twins.get('d'))) },
    ]);
  });
});
