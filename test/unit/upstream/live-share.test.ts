import { describe, expect, it } from 'vitest';
import { LiveShare } from '../../../src/upstream/live-share.js';

/** The choices of one LiveShare over `leases` leases: N for newest-first, o for oldest-first. */
function pattern(share: number, leases: number, hasBacklog = true): string {
  const liveShare = new LiveShare(share);
  let out = '';
  for (let i = 0; i < leases; i++) out += liveShare.takeNewest(hasBacklog) ? 'N' : 'o';
  return out;
}

describe('LiveShare', () => {
  it.each([
    [0, 'oooooooo'],
    [0.25, 'oooNoooN'],
    [0.5, 'oNoNoNoN'],
    [1, 'NNNNNNNN'],
  ])('share %s takes the newest items in the pattern %s', (share, expected) => {
    expect(pattern(share, 8)).toBe(expected);
  });

  it('honours shares that are not a whole period exactly', () => {
    expect(
      pattern(0.4, 10)
        .split('')
        .filter((c) => c === 'N'),
    ).toHaveLength(4);
    expect(pattern(0.1, 10)).toBe('oooooooooN');
  });

  it('always takes the oldest items when there is no backlog', () => {
    expect(pattern(1, 4, false)).toBe('oooo');
  });
});
