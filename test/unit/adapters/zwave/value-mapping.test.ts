import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapValue, type MappedValue, type ZwaveValue } from '../../../../adapters/zwave/value-mapping.js';

interface Case {
  why: string;
  in: ZwaveValue;
  out: MappedValue | null;
}

const cases = JSON.parse(
  readFileSync(new URL('../../../fixtures/zwave/value-cases.json', import.meta.url), 'utf8'),
) as Case[];

describe('mapValue', () => {
  it.each(cases)('$why', (c) => {
    expect(mapValue(c.in) ?? null).toEqual(c.out);
  });
});
