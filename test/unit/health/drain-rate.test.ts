import { describe, expect, it } from 'vitest';
import { DrainRate, drainEtaS } from '../../../src/health/drain-rate.js';

describe('drain ETA', () => {
  it('estimates from the smoothed rate while the route is connected', () => {
    const rate = new DrainRate();
    rate.sample('cloud', 0, 0);
    const perS = rate.sample('cloud', 100, 1000);
    expect(perS).toBe(100);
    expect(drainEtaS(250, perS, true)).toBe(3);
    expect(drainEtaS(0, perS, true)).toBe(0);
  });

  it('promises nothing during an outage, however fast the route drained before it', () => {
    const rate = new DrainRate();
    rate.sample('cloud', 0, 0);
    rate.sample('cloud', 100, 1000);
    // The link dropped: nothing more was sent, but the smoothed rate is still well above zero.
    const perS = rate.sample('cloud', 100, 2000);
    expect(perS).toBeGreaterThan(0);
    expect(drainEtaS(250, perS, false)).toBeNull();
    expect(drainEtaS(0, perS, false)).toBe(0);
  });
});
