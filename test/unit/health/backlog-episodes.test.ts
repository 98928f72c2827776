import { describe, expect, it } from 'vitest';
import { BacklogEpisodes, type RouteBacklog } from '../../../src/health/backlog-episodes.js';

const route = (depth: number, drainEtaS: number | null): RouteBacklog => ({
  name: 'cloud',
  queue: { depth },
  drainEtaS,
});

describe('BacklogEpisodes', () => {
  it('says "draining" once with the ETA, and "drained" once when empty, for one episode', () => {
    const episodes = new BacklogEpisodes();
    const samples: [RouteBacklog, number][] = [
      [route(50_000, null), 0], // the upstream is down: nothing moves, no ETA yet
      [route(48_000, 240), 10_000],
      [route(40_000, 200), 20_000], // still the same episode
      [route(40_000, null), 30_000], // the upstream dropped again mid-drain
      [route(20_000, 100), 40_000],
      [route(0, 0), 130_000],
      [route(0, 0), 140_000],
    ];
    const events = samples.flatMap(([r, now]) => episodes.observe([r], now));
    expect(events).toEqual([
      { kind: 'draining', route: 'cloud', depth: 48_000, etaS: 240 },
      { kind: 'drained', route: 'cloud', tookS: 120 },
    ]);
  });

  it('says nothing about a queue that only holds live traffic', () => {
    const episodes = new BacklogEpisodes();
    const events = [route(12, 1), route(0, 0), route(30, 2)].flatMap((r, i) =>
      episodes.observe([r], i * 10_000),
    );
    expect(events).toEqual([]);
  });

  it('counts a route that is down to its last few seconds of sending as drained', () => {
    const episodes = new BacklogEpisodes();
    episodes.observe([route(9_000, 90)], 0);
    expect(episodes.observe([route(15, 1)], 90_000)).toEqual([
      { kind: 'drained', route: 'cloud', tookS: 90 },
    ]);
  });
});
