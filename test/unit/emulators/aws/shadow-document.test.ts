import { describe, expect, it } from 'vitest';
import {
  applyUpdate,
  computeDelta,
  emptyShadow,
  parseUpdateRequest,
  type JsonObject,
  type ShadowRecord,
} from '../../../../emulators/aws/index.js';

const T = 1_700_000_000;
const parse = (body: unknown) => parseUpdateRequest(Buffer.from(JSON.stringify(body)));

/** Apply a sequence of update bodies to a fresh shadow, failing the test on any rejection. */
function shadowAfter(...bodies: JsonObject[]): ShadowRecord {
  let record = emptyShadow();
  for (const body of bodies) {
    const parsed = parse(body);
    if ('error' in parsed) throw new Error(parsed.error.message);
    const applied = applyUpdate(record, parsed.request, T);
    if ('error' in applied) throw new Error(applied.error.message);
    record = applied.record;
  }
  return record;
}

describe('shadow request validation', () => {
  it.each([
    ['not JSON', Buffer.from('{'), 400, 'Invalid JSON'],
    ['no state', Buffer.from('{"clientToken":"a"}'), 400, 'Missing required node: state'],
    ['state not an object', Buffer.from('{"state":1}'), 400, 'State node must be an object'],
    [
      'desired not an object',
      Buffer.from('{"state":{"desired":[1]}}'),
      400,
      'Desired node must be an object',
    ],
    [
      'reported not an object',
      Buffer.from('{"state":{"reported":"x"}}'),
      400,
      'Reported node must be an object',
    ],
    [
      'unknown state node',
      Buffer.from('{"state":{"delta":{}}}'),
      400,
      "State contains an invalid node: 'delta'",
    ],
    ['negative version', Buffer.from('{"state":{},"version":-1}'), 400, 'Invalid version'],
    [
      'clientToken over 64 B',
      Buffer.from(JSON.stringify({ state: {}, clientToken: 'x'.repeat(65) })),
      400,
      'Invalid clientToken',
    ],
    [
      'nesting deeper than 6',
      Buffer.from(JSON.stringify({ state: { reported: { a: { b: { c: { d: { e: { f: 1 } } } } } } } })),
      400,
      'JSON contains too many levels of nesting; maximum is 6',
    ],
    [
      'not UTF-8',
      Buffer.from([0x7b, 0xff, 0x7d]),
      415,
      'Unsupported documented encoding; supported encoding is UTF-8',
    ],
  ])('rejects %s', (_name, payload, code, message) => {
    expect(parseUpdateRequest(payload)).toEqual({ error: { code, message } });
  });

  it('accepts five levels below a section', () => {
    expect(parse({ state: { reported: { a: { b: { c: { d: { e: 1 } } } } } } })).toHaveProperty('request');
  });
});

describe('shadow updates', () => {
  it('computes the documented delta fixture', () => {
    const desired = { color: 'red', power: 'on', cfg: { a: 1, b: 2 }, modes: [1, 2] };
    const reported = { color: 'blue', power: 'on', cfg: { a: 1, b: 3 }, modes: [1], fw: '1.2' };
    expect(computeDelta(desired, reported)).toEqual({ color: 'red', cfg: { b: 2 }, modes: [1, 2] });
    expect(computeDelta(desired, { ...desired, fw: '1.2' })).toBeUndefined();
  });

  it('merges fields, deletes on null, clears a section on null, and counts versions', () => {
    const record = shadowAfter(
      { state: { reported: { on: false, power: 3, cfg: { a: 1, b: 2 } } } },
      { state: { reported: { power: null, cfg: { b: 5 } }, desired: { on: true } } },
    );
    expect(record).toMatchObject({
      version: 2,
      reported: { on: false, cfg: { a: 1, b: 5 } },
      desired: { on: true },
      metadata: { reported: { on: { timestamp: T }, cfg: { a: { timestamp: T }, b: { timestamp: T } } } },
    });
    expect(record.reported).not.toHaveProperty('power');
    const cleared = applyUpdate(record, { state: { desired: null } }, T);
    expect(cleared).toMatchObject({ record: { version: 3 } });
    expect('record' in cleared && cleared.record.desired).toBeUndefined();
  });

  it('refuses a stale version with 409 and accepts the current one', () => {
    const record = shadowAfter({ state: { reported: { on: true } } }, { state: { reported: { on: false } } });
    expect(applyUpdate(record, { state: { reported: { on: true } }, version: 1 }, T)).toEqual({
      error: { code: 409, message: 'Version conflict' },
    });
    expect(applyUpdate(record, { state: { reported: { on: true } }, version: 2 }, T)).toMatchObject({
      record: { version: 3 },
    });
  });

  it('refuses with 413 an update that makes desired + reported exceed 8 KB', () => {
    const record = shadowAfter({ state: { reported: { blob: 'x'.repeat(4000) } } });
    expect(applyUpdate(record, { state: { desired: { blob: 'y'.repeat(4000) } } }, T)).toMatchObject({
      record: { version: 2 },
    });
    const full = shadowAfter(
      { state: { reported: { blob: 'x'.repeat(4000) } } },
      { state: { desired: { blob: 'y'.repeat(4000) } } },
    );
    expect(applyUpdate(full, { state: { reported: { more: 'z'.repeat(200) } } }, T)).toEqual({
      error: { code: 413, message: 'The payload exceeds the maximum size allowed' },
    });
  });

  it('continues the version after a delete', () => {
    const deleted: ShadowRecord = { ...shadowAfter({ state: { reported: { a: 1 } } }), exists: false };
    expect(applyUpdate(deleted, { state: { reported: { b: 1 } } }, T)).toMatchObject({
      record: { version: 2, reported: { b: 1 } },
    });
  });
});
