import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { checkQueueFiles, prepareStateDir, runningAs } from '../../../src/queue/state-dir-check.js';

const self = runningAs();

describe.skipIf(self === undefined)('state dir checks', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-statedir-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the state dir with mode 0750 whatever the umask', async () => {
    const previous = process.umask(0);
    try {
      await prepareStateDir(path.join(root, 'a', 'state'), silentLogger());
    } finally {
      process.umask(previous);
    }
    expect((await stat(path.join(root, 'a', 'state'))).mode & 0o777).toBe(0o750);
  });

  it('sets a world-writable state dir it owns to 0750', async () => {
    const dir = path.join(root, 'state');
    await mkdir(dir);
    await chmod(dir, 0o777);
    await prepareStateDir(dir, silentLogger());
    expect((await stat(dir)).mode & 0o777).toBe(0o750);
  });

  it('refuses a state dir another user owns, naming owner, mode and the uid it runs as', async () => {
    const dir = path.join(root, 'state');
    await mkdir(dir, { mode: 0o750 });
    const other = { uid: self!.uid + 1, gid: self!.gid };
    const refused = await prepareStateDir(dir, silentLogger(), other).catch((e: unknown) => e);
    expect(isFieldgateError(refused, 'FG_STORAGE_PERMISSION')).toBe(true);
    expect((refused as Error).message).toMatch(
      new RegExp(
        `state directory ${dir} is owned by .*uid ${self!.uid}.*mode 0750, but fieldgate runs as .*uid ${other.uid}`,
      ),
    );
  });

  it('refuses a queue dir another user owns and leaves it as it is', async () => {
    const queue = path.join(root, 'queue');
    await mkdir(queue, { mode: 0o700 });
    const other = { uid: self!.uid + 1, gid: self!.gid };
    await expect(checkQueueFiles(queue, other)).rejects.toSatisfy((e: unknown) =>
      isFieldgateError(e, 'FG_STORAGE_PERMISSION'),
    );
    expect((await stat(queue)).mode & 0o777).toBe(0o700);
  });

  it('accepts a missing queue dir (first start)', async () => {
    await expect(checkQueueFiles(path.join(root, 'queue'), self)).resolves.toBeUndefined();
  });
});
