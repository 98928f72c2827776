import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/logger.js';
import { LevelQueueStore } from '../../src/queue/level-store.js';
import { queueContract } from './queue.contract.js';

queueContract('LevelQueue', async (options) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-queue-'));
  const store = await LevelQueueStore.open({
    dir,
    commitIntervalMs: 5,
    commitMaxItems: 1000,
    durability: 'relaxed',
    maxBytes: options.maxBytes,
    minFreeBytes: 0,
    overflow: options.overflow,
    log: silentLogger(),
    now: options.now,
  });
  const queue = await store.queue('cloud', { ttlMs: options.ttlMs });
  return {
    queue,
    dispose: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
