import { describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../../src/health/status.js';
import { NumberRing, WebHistory } from '../../../src/web/history.js';

/** The parts of a status snapshot the history reads. */
function status(routes: { name: string; depth: number; sent: number }[], pipelineIn = 0): StatusSnapshot {
  return {
    routes: routes.map((r) => ({
      name: r.name,
      queue: { depth: r.depth },
      forwarder: { sentReadings: r.sent },
    })),
    pipeline: { in: pipelineIn, out: 0, filtered: 0, unrouted: 0 },
  } as unknown as StatusSnapshot;
}

describe('NumberRing', () => {
  it('keeps the newest rows only, oldest first', () => {
    const ring = new NumberRing(3, 2);
    for (let i = 1; i <= 5; i++) ring.push([i, i * 10]);
    expect(ring.length).toBe(3);
    expect(ring.rows()).toEqual([
      [3, 30],
      [4, 40],
      [5, 50],
    ]);
    ring.replaceLast([6, 60]);
    expect(ring.fromEnd(0)).toEqual([6, 60]);
    expect(ring.fromEnd(3)).toBeUndefined();
  });
});

describe('WebHistory', () => {
  it('charts backlog and delivered readings per second per route, over a bounded span', () => {
    const history = new WebHistory({ routeSamples: 4 });
    history.sample(status([{ name: 'cloud', depth: 0, sent: 0 }], 0), 0);
    history.sample(status([{ name: 'cloud', depth: 5, sent: 20 }], 30), 2000);
    history.sample(status([{ name: 'cloud', depth: 50, sent: 20 }], 60), 4000);
    expect(history.routes().cloud).toEqual({
      ts: [0, 2000, 4000],
      depth: [0, 5, 50],
      deliveredPerS: [0, 10, 0],
    });
    expect(history.inPerS).toBe(15);
    for (let t = 6000; t <= 20_000; t += 2000)
      history.sample(status([{ name: 'cloud', depth: 1, sent: 20 }]), t);
    expect(history.routes().cloud?.ts).toEqual([14_000, 16_000, 18_000, 20_000]);
  });

  it('keeps one point per device value and slot (the latest), numbers and booleans only', () => {
    const history = new WebHistory({ valueSlotMs: 10_000, valueSamples: 3 });
    history.record([
      { device: 'sim:a', ts: 1000, values: { temperature: 20, label: 'x', on: true } },
      { device: 'sim:a', ts: 5000, values: { temperature: 21 } },
      { device: 'sim:a', ts: 12_000, values: { temperature: 22 } },
    ]);
    expect(history.deviceValues('sim:a')).toEqual({
      temperature: { ts: [5000, 12_000], value: [21, 22] },
      on: { ts: [1000], value: [1] },
    });
    for (let ts = 20_000; ts <= 60_000; ts += 10_000)
      history.record([{ device: 'sim:a', ts, values: { temperature: ts / 1000 } }]);
    expect(history.deviceValues('sim:a').temperature?.value).toEqual([40, 50, 60]);
    history.forget('sim:a');
    expect(history.deviceValues('sim:a')).toEqual({});
  });

  it('follows at most maxDevices devices', () => {
    const history = new WebHistory({ maxDevices: 2 });
    for (const device of ['sim:a', 'sim:b', 'sim:c'])
      history.record([{ device, ts: 1000, values: { v: 1 } }]);
    expect(Object.keys(history.deviceValues('sim:b'))).toEqual(['v']);
    expect(history.deviceValues('sim:c')).toEqual({});
  });
});
