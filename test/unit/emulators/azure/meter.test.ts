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

  it('shapes traffic past the rate: a one-second burst, then acknowledgements at the rate, then 429', () => {
    // Traffic shaping (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-quotas-throttling):
    // above the throttle the hub queues requests and serves them at the rate; a full queue answers 429.
    const clock = { now: 0 };
    const meter = new HubMeter({ now: () => clock.now, d2cPerSecond: 2, shapingQueueMs: 2000 });
    const shaped = Array.from({ length: 7 }, () => meter.shape([1]));
    expect(shaped).toEqual([
      { admission: 'ok', delayMs: 0 },
      { admission: 'ok', delayMs: 0 },
      { admission: 'ok', delayMs: 500 },
      { admission: 'ok', delayMs: 1000 },
      { admission: 'ok', delayMs: 1500 },
      { admission: 'ok', delayMs: 2000 },
      { admission: 'throttled', delayMs: 0 },
    ]);
    clock.now = 500;
    expect(meter.shape([1])).toEqual({ admission: 'ok', delayMs: 2000 });
    expect(meter.counters()).toMatchObject({ messages: 7, throttled: 1, shaped: 5 });
  });

  it('refuses everything at a rate of 0 and never delays without a rate', () => {
    expect(new HubMeter({ now: () => 0, d2cPerSecond: 0 }).admit(1)).toBe('throttled');
    const unlimited = new HubMeter({ now: () => 0 });
    for (let i = 0; i < 1000; i += 1) expect(unlimited.shape([1])).toEqual({ admission: 'ok', delayMs: 0 });
  });

  it('meters C2D, twin and method traffic in 4 KB chunks, a method’s request and response each', () => {
    // https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-pricing: a method with a 6 KB request
    // and a 1 KB response is 2 + 1 messages; a 12 KB twin update 3; a response without payload 1.
    const meter = new HubMeter({ now: () => 0 });
    expect(meter.countOperation('method', 6 * 1024, 1024)).toBe(3);
    expect(meter.countOperation('method', 4 * 1024, 0)).toBe(2);
    expect(meter.countOperation('twinUpdate', 12 * 1024)).toBe(3);
    expect(meter.countOperation('twinRead', 8 * 1024)).toBe(2);
    expect(meter.countOperation('c2d', 6 * 1024)).toBe(2);
    expect(meter.counters()).toMatchObject({
      billedUnits: 0,
      operationUnits: 12,
      operations: { method: 2, twinUpdate: 1, twinRead: 1, c2d: 1 },
    });
  });

  it('counts operations against the daily quota', () => {
    const meter = new HubMeter({ now: () => 0, dailyQuotaUnits: 3 });
    meter.countOperation('twinRead', 8 * 1024);
    expect(meter.admit(10)).toBe('ok');
    expect(meter.admit(10)).toBe('quotaExceeded');
  });
});
