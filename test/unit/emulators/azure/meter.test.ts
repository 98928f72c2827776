import { describe, expect, it } from 'vitest';
import { HubMeter } from '../../../../emulators/azure/index.js';

describe('the emulated hub meter', () => {
  it('bills in 4 KB units', () => {
    const meter = new HubMeter({ now: () => 0 });
    for (const size of [1, 4096, 4097, 12_000]) expect(meter.admit(size)).toBe('ok');
    expect(meter.counters()).toMatchObject({ messages: 4, billedUnits: 1 + 1 + 2 + 3 });
  });

  it('refuses past the daily quota (403002) until the next UTC day', () => {
    const clock = { now: 0 };
    const meter = new HubMeter({ now: () => clock.now, dailyQuotaUnits: 3 });
    expect(meter.admit(8000)).toBe('ok');
    expect(meter.admit(8000)).toBe('quotaExceeded');
    expect(meter.admit(10)).toBe('ok');
    clock.now = 86_400_000;
    expect(meter.admit(8000)).toBe('ok');
    expect(meter.counters().quotaRefused).toBe(1);
  });

  it('throttles past the rate after a one-second burst and recovers as time passes', () => {
    const clock = { now: 0 };
    const meter = new HubMeter({ now: () => clock.now, d2cPerSecond: 2 });
    expect([meter.admit(1), meter.admit(1), meter.admit(1)]).toEqual(['ok', 'ok', 'throttled']);
    clock.now = 500;
    expect(meter.admit(1)).toBe('ok');
    expect(meter.counters()).toMatchObject({ messages: 3, throttled: 1 });
  });
});
