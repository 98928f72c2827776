import { describe, expect, it } from 'vitest';
import { deviceMatch } from '../../../src/config/schema.js';
import type { Reading } from '../../../src/model.js';
import { adapterOf, compileExclude, compileMatch } from '../../../src/pipeline/match.js';

const climate: Reading = {
  device: 'sim:climate-01',
  ts: 1,
  values: { temperature: 20, humidity: 40 },
  units: { temperature: '°C', humidity: '%' },
  seq: 3,
};
const ble: Reading = { device: 'ble:c4:7c:8d:6a:12:34', ts: 1, values: { temperature: 19 } };

describe('compileMatch', () => {
  it.each([
    { name: 'an empty rule matches everything', rule: {}, reading: climate, out: climate },
    { name: 'device glob', rule: { devices: ['sim:climate-*'] }, reading: climate, out: climate },
    { name: 'device glob miss', rule: { devices: ['sim:switch-*'] }, reading: climate, out: null },
    {
      name: 'adapter is the part before the first colon',
      rule: { adapters: ['ble'] },
      reading: ble,
      out: ble,
    },
    { name: 'adapter miss', rule: { adapters: ['zigbee', 'zwave'] }, reading: ble, out: null },
    {
      name: 'values project the reading and its units',
      rule: { values: ['temp*'] },
      reading: climate,
      out: {
        device: 'sim:climate-01',
        ts: 1,
        values: { temperature: 20 },
        units: { temperature: '°C' },
        seq: 3,
      },
    },
    { name: 'no value left means no match', rule: { values: ['pressure'] }, reading: climate, out: null },
    {
      name: 'device and value lists both apply',
      rule: { devices: ['sim:*'], values: ['humidity'] },
      reading: ble,
      out: null,
    },
  ])('$name', ({ rule, reading, out }) => {
    expect(compileMatch(deviceMatch.parse(rule))(reading)).toEqual(out);
  });

  it('returns the same object when nothing is projected away, and never mutates its input', () => {
    const before = structuredClone(climate);
    expect(compileMatch(deviceMatch.parse({ values: ['*'] }))(climate)).toBe(climate);
    compileMatch(deviceMatch.parse({ values: ['humidity'] }))(climate);
    expect(climate).toEqual(before);
  });
});

describe('compileExclude', () => {
  it.each([
    { name: 'an empty rule excludes nothing', rule: {}, reading: climate, out: climate },
    {
      name: 'devices only drop the whole reading',
      rule: { devices: ['sim:*'] },
      reading: climate,
      out: null,
    },
    { name: 'other devices are untouched', rule: { adapters: ['zigbee'] }, reading: climate, out: climate },
    {
      name: 'values are removed',
      rule: { values: ['humidity'] },
      reading: climate,
      out: {
        device: 'sim:climate-01',
        ts: 1,
        values: { temperature: 20 },
        units: { temperature: '°C' },
        seq: 3,
      },
    },
    { name: 'removing every value drops the reading', rule: { values: ['*'] }, reading: climate, out: null },
  ])('$name', ({ rule, reading, out }) => {
    expect(compileExclude(deviceMatch.parse(rule))(reading)).toEqual(out);
  });
});

describe('adapterOf', () => {
  it('takes the text before the first colon, or the whole id', () => {
    expect(adapterOf('ble:c4:7c:8d:6a:12:34')).toBe('ble');
    expect(adapterOf('orphan')).toBe('orphan');
  });
});
