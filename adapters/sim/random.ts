/** A small seeded PRNG, so a fleet's values are reproducible from `seed`. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/** mulberry32: 32-bit state, fast, and plenty for simulated sensor noise (not for anything secret). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (min, max) => min + (max - min) * next(),
    chance: (p) => next() < p,
  };
}

/**
 * A seed for one stream derived from the fleet seed and a key (FNV-1a of the key), so each device draws
 * from its own stream and its values do not depend on how timers of other devices interleave.
 */
export function deriveSeed(seed: number, key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash ^ seed) >>> 0;
}

/** One random-walk step of at most `step` either way, kept within [min, max] and rounded to `decimals`. */
export function walk(
  random: Random,
  value: number,
  step: number,
  min: number,
  max: number,
  decimals: number,
) {
  const moved = Math.min(max, Math.max(min, value + random.between(-step, step)));
  const scale = 10 ** decimals;
  return Math.round(moved * scale) / scale;
}
