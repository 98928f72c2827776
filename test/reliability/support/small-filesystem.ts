import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A size-limited filesystem of its own (tmpfs), so the state dir can really run out of space. */
export interface SmallFilesystem {
  dir: string;
  unmount: () => Promise<void>;
}

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh temp dir. Needs CAP_SYS_ADMIN (root in a container usually has
 * it); returns the reason instead when the mount is refused, so the caller can skip visibly.
 */
export async function mountSmallFilesystem(
  sizeBytes: number,
): Promise<SmallFilesystem | { refused: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-small-fs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'fieldgate-test', dir]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    return { refused: `cannot mount a ${sizeBytes}-byte tmpfs: ${(e as Error).message.split('\n')[0]}` };
  }
  return {
    dir,
    unmount: async () => {
      await run('umount', ['-l', dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
