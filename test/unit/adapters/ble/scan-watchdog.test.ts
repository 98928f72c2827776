import { describe, expect, it } from 'vitest';
import { ScanWatchdog } from '../../../../adapters/ble/scan-watchdog.js';

describe('ScanWatchdog', () => {
  it('fires once per stall, and not while advertisements keep coming', () => {
    const stalls: number[] = [];
    const watchdog = new ScanWatchdog(1000, 0, (silentMs) => stalls.push(silentMs));
    for (let t = 0; t <= 5000; t += 500) {
      watchdog.touch(t);
      watchdog.check(t + 400);
    }
    expect(stalls).toEqual([]);

    watchdog.check(6000);
    expect(stalls).toEqual([1000]);
    // The restart gets a full stallMs to take effect before the watchdog fires again.
    watchdog.check(6500);
    expect(stalls).toEqual([1000]);
    watchdog.check(7000);
    expect(stalls).toEqual([1000, 1000]);
  });
});
