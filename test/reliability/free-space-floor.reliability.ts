import { rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Daemon, makeWorkdir, waitFor } from '../integration/support/daemon.js';
import { mountSmallFilesystem, type SmallFilesystem } from './support/small-filesystem.js';
import { routeOf, serviceLayout } from './support/storage-scenario.js';

const MiB = 1024 ** 2;
const FS_BYTES = 48 * MiB;
const FLOOR_BYTES = Number(process.env.RELIABILITY_FLOOR_MIB ?? 8) * MiB;
/** Free space above the floor when the daemon starts: the queue reaches the floor after writing this much. */
const ABOVE_FLOOR_BYTES = 8 * MiB;
/** How long the daemon runs against the floor once it reached it. */
const AT_FLOOR_MS = Number(process.env.RELIABILITY_FLOOR_SECONDS ?? 10) * 1000;
const DEAD_PORT = 1;

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let fs: SmallFilesystem | { refused: string };

beforeAll(async () => {
  work = await makeWorkdir();
  fs = await mountSmallFilesystem(FS_BYTES);
  if ('refused' in fs) console.log(`free-space floor: SKIPPED, ${fs.refused}`);
});

afterAll(async () => {
  if (!('refused' in fs)) await fs.unmount();
  await work.cleanup();
});

for (const overflow of ['dropOldest', 'dropNewest'] as const) {
  it(`keeps queue.minFreeBytes free on the filesystem under a full-speed fleet (${overflow})`, async (ctx) => {
    if ('refused' in fs) return ctx.skip();
    const { config } = await serviceLayout(work.dir);
    const stateDir = path.join(fs.dir, overflow);
    const cfg = {
      ...config(DEAD_PORT, true, { maxBytes: 1024 * MiB, minFreeBytes: FLOOR_BYTES, overflow }),
      gateway: { id: 'it', stateDir },
    };
    const filler = path.join(fs.dir, 'filler');
    await rm(filler, { force: true });
    const { bavail, bsize } = await statfs(fs.dir);
    await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - FLOOR_BYTES - ABOVE_FLOOR_BYTES)));
    const daemon = await Daemon.start(work.dir, cfg);
    let lowestFree = Number.POSITIVE_INFINITY;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { bavail, bsize } = await statfs(fs.dir);
        lowestFree = Math.min(lowestFree, bavail * bsize);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await waitFor(
        async () => routeOf(await daemon.status()).dropped.diskFull > 0,
        'the floor to be reached',
        120_000,
        () =>
          daemon.process.exitCode !== null ? `daemon exited:\n${daemon.output.slice(-3000)}` : undefined,
      );
      const reachedAt = routeOf(await daemon.status()).appended;
      await new Promise((r) => setTimeout(r, AT_FLOOR_MS));
      const status = await daemon.status();
      sampling = false;
      await sampler;
      console.log(
        `free-space floor (${overflow}): floor ${FLOOR_BYTES} bytes on a ${FS_BYTES}-byte filesystem; lowest free ` +
          `${lowestFree} bytes (${((lowestFree - FLOOR_BYTES) / MiB).toFixed(2)} MiB from the floor); ` +
          `${routeOf(status).appended} appended (${routeOf(status).appended - reachedAt} at the floor), ` +
          `dropped ${JSON.stringify(routeOf(status).dropped)}`,
      );
      expect(daemon.process.exitCode).toBeNull();
      // It stored what fit above the floor, then counted what did not fit as dropped.
      expect(reachedAt).toBeGreaterThan(0);
      expect(routeOf(status).dropped.diskFull).toBeGreaterThan(0);
      expect(lowestFree).toBeGreaterThanOrEqual(FLOOR_BYTES);
    } finally {
      sampling = false;
      await sampler;
      await daemon.stop();
    }
  });
}
