import { createRandom, type Random } from '../../../adapters/sim/random.js';

/** A seeded source of test inputs: the same seed replays the same cases, so a failure reproduces. */
export interface Fuzz extends Random {
  readonly seed: number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(length: number): Buffer;
}

/** `RELIABILITY_SEED` replays a failing run; otherwise the seed is fixed, so CI runs the same cases. */
export function seededFuzz(defaultSeed: number): Fuzz {
  const seed = Number(process.env.RELIABILITY_SEED ?? defaultSeed);
  const random = createRandom(seed);
  const int = (min: number, max: number): number => min + Math.floor(random.next() * (max - min + 1));
  return {
    ...random,
    seed,
    int,
    pick: (items) => items[int(0, items.length - 1)]!,
    bytes: (length) => Buffer.from(Array.from({ length }, () => int(0, 255))),
  };
}

/** Runs `task` over `items` with at most `concurrency` at once (each case is a process: the box has 2 cores). */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
