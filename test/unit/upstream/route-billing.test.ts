import { describe, expect, it } from 'vitest';
import { DailyBilling } from '../../../src/upstream/route-billing.js';

const DAY_MS = 86_400_000;
const at = (day: number, ms = 0) => day * DAY_MS + ms;

describe('billed units per route per UTC day', () => {
  it('adds what was billed since the last sample to the day of the sample, starting over at 00:00 UTC', () => {
    const billing = new DailyBilling();
    expect(billing.sample({ billedUnits: 0, operations: {} }, at(20_000))).toMatchObject({
      day: '2024-10-04',
      billedUnitsToday: 0,
      billedUnits: 0,
    });
    billing.sample({ billedUnits: 40, operations: { d2c: 30, twinRead: 1 } }, at(20_000, 1000));
    const lateEvening = billing.sample({ billedUnits: 100, operations: { d2c: 90 } }, at(20_000, DAY_MS - 1));
    expect(lateEvening).toEqual({
      day: '2024-10-04',
      billedUnitsToday: 100,
      billedUnits: 100,
      operations: { d2c: 90 },
    });
    const nextDay = billing.sample({ billedUnits: 103, operations: { d2c: 93 } }, at(20_001, 5));
    expect(nextDay).toMatchObject({ day: '2024-10-05', billedUnitsToday: 3, billedUnits: 103 });
    // A day without samples in between: still only what was billed since.
    expect(billing.sample({ billedUnits: 110 }, at(20_003))).toMatchObject({
      day: '2024-10-07',
      billedUnitsToday: 7,
      operations: {},
    });
  });

  it('never counts a negative day when the counters start over', () => {
    const billing = new DailyBilling();
    billing.sample({ billedUnits: 50 }, at(1));
    expect(billing.sample({ billedUnits: 5 }, at(1, 10))).toMatchObject({ billedUnitsToday: 50 });
    expect(billing.sample({ billedUnits: 9 }, at(1, 20))).toMatchObject({ billedUnitsToday: 54 });
  });
});
