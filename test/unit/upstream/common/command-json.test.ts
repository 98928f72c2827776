import { describe, expect, it } from 'vitest';
import {
  parseCommandFields,
  parseJsonObject,
  resultJson,
} from '../../../../src/upstream/common/command-json.js';

const NOW = 1_700_000_000_000;

describe('parseJsonObject', () => {
  it.each([
    ['{"name":"on"}', { name: 'on' }],
    ['not json', 'request is not valid JSON'],
    ['[1]', 'request must be a JSON object'],
    ['null', 'request must be a JSON object'],
    [`{"pad":"${'x'.repeat(40)}"}`, 'request is 50 bytes; the limit is 32'],
  ])('reads %s as %j', (text, expected) => {
    expect(parseJsonObject(Buffer.from(text), 32, 'request')).toEqual(expected);
  });
});

describe('parseCommandFields', () => {
  it('defaults args to {} and keeps no deadline when none is given', () => {
    expect(parseCommandFields({ name: 'on' }, NOW)).toEqual({ name: 'on', args: {} });
  });

  it('takes the earlier of expiresAt (ISO or epoch ms) and ttlMs counted from receipt', () => {
    const iso = new Date(NOW + 9000).toISOString();
    expect(parseCommandFields({ name: 'on', expiresAt: iso, ttlMs: 2000 }, NOW)).toMatchObject({
      expiresAt: NOW + 2000,
    });
    expect(parseCommandFields({ name: 'on', expiresAt: NOW + 1000, ttlMs: 2000 }, NOW)).toMatchObject({
      expiresAt: NOW + 1000,
    });
  });

  it.each([
    [{ name: '' }, '"name" must be a non-empty string'],
    [{ name: 'on', args: 'x' }, '"args" must be an object'],
    [{ name: 'on', expiresAt: true }, '"expiresAt" must be epoch ms or an ISO date'],
    [{ name: 'on', ttlMs: Number.NaN }, '"ttlMs" must be a non-negative number'],
  ])('refuses %j: %s', (body, reason) => {
    expect(parseCommandFields(body, NOW)).toBe(reason);
  });
});

describe('resultJson', () => {
  it('writes the result under the command’s id and device, extra fields last, undefined ones left out', () => {
    const json = resultJson({ id: 'c1', device: 'sim:a' }, { id: 'c1', status: 'ok' }, { ts: 5 });
    expect(json.toString()).toBe('{"id":"c1","device":"sim:a","status":"ok","ts":5}');
  });
});
