import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryCommandStore,
  loadAll,
  type ScannedEntry,
  type StoredCommand,
} from '../../../src/commands/command-store.js';
import type { CommandRouter } from '../../../src/commands/router.js';
import { deferred, waitFor } from './fake-devices.js';
import { createHarness, fromMqtt, incoming } from './router-harness.js';

/** A store whose `scan` waits until the test opens the gate, so a stop or second start can land meanwhile. */
class SlowLoadingStore extends MemoryCommandStore {
  readonly gate = deferred();

  override async *scan(): AsyncIterable<ScannedEntry> {
    await this.gate.promise;
    yield* super.scan();
  }
}

function stored(seq: number, id: string, expiresAt: number): StoredCommand {
  const command = { id, device: 'sim:switch-01', name: 'toggle', args: {}, origin: 'mqtt' as const };
  return { seq, command: { ...command, route: 'cloud', expiresAt, receivedAt: 0 } };
}

const routers: CommandRouter[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.stop();
});

describe('CommandRouter: start and stop', () => {
  it('stop() while start() is loading the store wins: nothing runs or is answered, and it all stays stored', async () => {
    const store = new SlowLoadingStore();
    await store.put(stored(1, 'c-overdue', Date.now() - 1000));
    await store.put(stored(2, 'c-held', Date.now() + 60_000));
    const h = createHarness({ store });
    routers.push(h.router);
    h.devices.add('sim:switch-01');

    const starting = h.router.start();
    await h.router.stop();
    store.gate.resolve();
    await starting;

    expect(h.devices.executed).toEqual([]);
    expect(h.published).toEqual([]);
    expect((await loadAll(store)).map((e) => e.command.id)).toEqual(['c-overdue', 'c-held']);
    expect(await h.router.submit(incoming('c-new', 'sim:switch-01'), fromMqtt)).toEqual({
      id: 'c-new',
      status: 'rejected',
      detail: 'the command router is not running',
    });
  });

  it('a second start() while the first is loading queues each stored command once', async () => {
    const store = new SlowLoadingStore();
    await store.put(stored(1, 'c-held', Date.now() + 60_000));
    const h = createHarness({ store });
    routers.push(h.router);
    h.devices.add('sim:switch-01');

    const first = h.router.start();
    const second = h.router.start();
    store.gate.resolve();
    await Promise.all([first, second]);
    await waitFor(() => h.router.pending().length === 0, 'the held command to finish');

    expect(h.devices.executed.map((c) => c.id)).toEqual(['c-held']);
    expect(h.resultsFor('c-held')).toEqual([{ id: 'c-held', status: 'ok' }]);
  });
});
