import { MemoryQueue } from '../../src/queue/memory-queue.js';
import { queueContract } from './queue.contract.js';

queueContract('MemoryQueue', (options) => {
  const queue = new MemoryQueue(options);
  return Promise.resolve({ queue, dispose: () => queue.close() });
});
