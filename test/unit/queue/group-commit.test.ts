import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../src/queue/group-commit.js';

/** A storage fake whose writes finish only when the test says so. */
function gatedStorage(): {
  writes: string[][];
  release: () => void;
  write: (ops: string[]) => Promise<void>;
} {
  const gates: (() => void)[] = [];
  const writes: string[][] = [];
  return {
    writes,
    release: () => gates.shift()?.(),
    write: (ops) => {
      writes.push(ops);
      return new Promise((resolve) => gates.push(resolve));
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('GroupCommit', () => {
  it('writes everything submitted within the interval as one commit, in submission order', async () => {
    const writes: string[][] = [];
    const commit = new GroupCommit<string>({
      intervalMs: 20,
      maxItems: 100,
      write: (ops) => Promise.resolve(void writes.push(ops)),
    });

    await Promise.all([commit.submit(['a'], 1), commit.submit(['b', 'c'], 2), commit.submit(['d'], 1)]);

    expect(writes).toEqual([['a', 'b', 'c', 'd']]);
  });

  it('commits at once when maxItems are waiting', async () => {
    const writes: string[][] = [];
    const commit = new GroupCommit<string>({
      intervalMs: 600_000,
      maxItems: 2,
      write: (ops) => Promise.resolve(void writes.push(ops)),
    });

    await commit.submit(['a', 'b'], 2);

    expect(writes).toEqual([['a', 'b']]);
  });

  it('resolves a submission only after the write holding it finished', async () => {
    const storage = gatedStorage();
    const commit = new GroupCommit<string>({ intervalMs: 1, maxItems: 100, write: storage.write });
    let isDurable = false;
    const submitted = commit.submit(['a'], 1).then(() => (isDurable = true));

    await until(() => storage.writes.length === 1);
    expect(isDurable).toBe(false);
    storage.release();
    await submitted;
    expect(isDurable).toBe(true);
  });

  it('gathers what arrives during a write into the next commit', async () => {
    const storage = gatedStorage();
    const commit = new GroupCommit<string>({ intervalMs: 1, maxItems: 100, write: storage.write });
    const first = commit.submit(['a'], 1);
    await until(() => storage.writes.length === 1);
    const later = [commit.submit(['b'], 1), commit.submit(['c'], 1)];
    await new Promise((resolve) => setTimeout(resolve, 10));

    storage.release();
    await first;
    await until(() => storage.writes.length === 2);
    storage.release();
    await Promise.all(later);

    expect(storage.writes).toEqual([['a'], ['b', 'c']]);
  });

  it('fails every submission of a failed write, and the next commit still runs', async () => {
    let attempt = 0;
    const commit = new GroupCommit<string>({
      intervalMs: 1,
      maxItems: 100,
      write: () => (attempt++ === 0 ? Promise.reject(new Error('disk I/O error')) : Promise.resolve()),
    });

    const failed = [commit.submit(['a'], 1), commit.submit(['b'], 1)];
    for (const submission of failed) await expect(submission).rejects.toThrow('disk I/O error');
    await expect(commit.submit(['c'], 1)).resolves.toBeUndefined();
  });

  it('flush writes what is waiting without waiting for the interval', async () => {
    const writes: string[][] = [];
    const commit = new GroupCommit<string>({
      intervalMs: 600_000,
      maxItems: 100,
      write: (ops) => Promise.resolve(void writes.push(ops)),
    });
    const submitted = commit.submit(['a'], 1);

    await commit.flush();

    await submitted;
    expect(writes).toEqual([['a']]);
  });
});
