import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelCommandStore, MemoryCommandStore, loadAll } from '../../../src/commands/command-store.js';
import type { CommandResult } from '../../../src/model.js';
import { deferred, FakeDevices, waitFor } from './fake-devices.js';
import { createHarness, fromMqtt, incoming } from './router-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(
  options: Parameters<typeof createHarness>[0] = {},
): Promise<ReturnType<typeof createHarness>> {
  const harness = createHarness(options);
  cleanups.push(() => harness.router.stop());
  await harness.router.start();
  return harness;
}

async function tempLevel(): Promise<{ open: () => Level }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldgate-router-'));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return { open: () => new Level(dir, { valueEncoding: 'json' }) };
}

describe('CommandRouter: per-device FIFO', () => {
  it('holds commands for a sleeping device and runs them in arrival order when it wakes', async () => {
    const h = await started();
    h.devices.add('sim:sleepy-01', { isReachable: false });
    const results = ['c1', 'c2', 'c3'].map((id) => h.router.submit(incoming(id, 'sim:sleepy-01'), fromMqtt));
    await waitFor(() => h.router.pending('sim:sleepy-01').length === 3, 'three held commands');
    expect(h.devices.executed).toEqual([]);

    h.devices.setReachable('sim:sleepy-01', true);
    h.router.deviceAwake('sim:sleepy-01');
    await Promise.all(results);
    expect(h.devices.executedIds()).toEqual(['c1', 'c2', 'c3']);
    expect(h.published.map((p) => p.result.id)).toEqual(['c1', 'c2', 'c3']);
    expect(h.router.pending()).toEqual([]);
  });

  it('runs one device’s commands one at a time, while other devices run concurrently', async () => {
    const h = await started();
    h.devices.add('sim:slow-01');
    h.devices.add('sim:fast-01');
    const slowDone = deferred<CommandResult>();
    h.devices.respond = (cmd) =>
      cmd.device === 'sim:slow-01' ? slowDone.promise : Promise.resolve({ id: cmd.id, status: 'ok' });

    const slow = ['s1', 's2'].map((id) => h.router.submit(incoming(id, 'sim:slow-01'), fromMqtt));
    await waitFor(() => h.devices.executed.length === 1, 's1 to start');
    // s1 is stuck on the radio; the other device is not held up by it.
    expect(await h.router.submit(incoming('f1', 'sim:fast-01'), fromMqtt)).toMatchObject({ status: 'ok' });
    expect(h.devices.executedIds('sim:slow-01')).toEqual(['s1']);

    slowDone.resolve({ id: 's', status: 'ok' });
    await Promise.all(slow);
    expect(h.devices.executedIds('sim:slow-01')).toEqual(['s1', 's2']);
    expect(h.devices.maxRunningPerDevice).toBe(1);
  });

  it('stops delivering when the device falls asleep mid-queue and resumes on the next wake-up', async () => {
    const h = await started();
    h.devices.add('sim:sleepy-01', { isReachable: false });
    h.devices.respond = (cmd) => {
      h.devices.setReachable(cmd.device, false);
      return Promise.resolve({ id: cmd.id, status: 'ok' });
    };
    const results = ['c1', 'c2'].map((id) => h.router.submit(incoming(id, 'sim:sleepy-01'), fromMqtt));
    h.devices.setReachable('sim:sleepy-01', true);
    h.router.deviceAwake('sim:sleepy-01');
    await results[0];
    expect(h.router.pending().map((c) => c.id)).toEqual(['c2']);

    h.devices.setReachable('sim:sleepy-01', true);
    h.router.deviceAwake('sim:sleepy-01');
    await results[1];
    expect(h.devices.executedIds()).toEqual(['c1', 'c2']);
  });
});

describe('CommandRouter: TTL', () => {
  it('gives a command without expiresAt the default TTL from the gateway clock', async () => {
    const h = await started({ now: () => 1_000_000, config: { defaultTtlMs: 5_000 } });
    h.devices.add('sim:sleepy-01', { isReachable: false });
    void h.router.submit(incoming('c1', 'sim:sleepy-01'), fromMqtt);
    expect(h.router.pending()).toMatchObject([{ id: 'c1', expiresAt: 1_005_000, receivedAt: 1_000_000 }]);
  });

  it('answers expired and never executes a command that arrives past its expiresAt', async () => {
    const h = await started({ now: () => 1_000_000 });
    h.devices.add('sim:switch-01');
    const result = await h.router.submit(
      incoming('c1', 'sim:switch-01', 'toggle', { expiresAt: 999_999 }),
      fromMqtt,
    );
    expect(result).toMatchObject({ id: 'c1', status: 'expired' });
    expect(h.devices.executed).toEqual([]);
  });

  it('expires a held command when its TTL passes, removes it from the store and never runs it', async () => {
    const h = await started();
    h.devices.add('sim:sleepy-01', { isReachable: false });
    const soon = h.router.submit(
      incoming('c1', 'sim:sleepy-01', 'toggle', { expiresAt: Date.now() + 50 }),
      fromMqtt,
    );
    const later = h.router.submit(incoming('c2', 'sim:sleepy-01'), fromMqtt);

    expect(await soon).toMatchObject({
      id: 'c1',
      status: 'expired',
      detail: 'expired while waiting for the device',
    });
    expect((await loadAll(h.store)).map((e) => e.command.id)).toEqual(['c2']);
    h.devices.setReachable('sim:sleepy-01', true);
    h.router.deviceAwake('sim:sleepy-01');
    await later;
    expect(h.devices.executedIds()).toEqual(['c2']);
    expect(h.resultsFor('c1')).toHaveLength(1);
  });

  it('aborts the execution signal at expiresAt and answers expired even if the adapter never returns', async () => {
    const h = await started();
    h.devices.add('sim:stuck-01');
    let signal: AbortSignal | undefined;
    h.devices.respond = (_cmd, s) => {
      signal = s;
      return new Promise<never>(() => undefined);
    };
    const result = await h.router.submit(
      incoming('c1', 'sim:stuck-01', 'toggle', { expiresAt: Date.now() + 300 }),
      fromMqtt,
    );
    expect(result).toMatchObject({ id: 'c1', status: 'expired' });
    expect(signal?.aborted).toBe(true);
  });
});

describe('CommandRouter: persistence', () => {
  it('delivers held commands after a restart over the same LevelDB, once the device reappears', async () => {
    const level = await tempLevel();
    const before = level.open();
    const first = createHarness({
      store: new LevelCommandStore(before.sublevel('commands', { valueEncoding: 'json' })),
    });
    await first.router.start();
    first.devices.add('sim:sleepy-01', { isReachable: false });
    void first.router.submit(incoming('c1', 'sim:sleepy-01', 'set', { args: { level: 10 } }), fromMqtt);
    void first.router.submit(incoming('c2', 'sim:sleepy-01'), fromMqtt);
    await waitFor(() => first.router.pending().length === 2, 'two held commands');
    await first.router.stop();
    await before.close();

    const after = level.open();
    cleanups.push(() => after.close());
    // The adapter has not announced the device yet: the commands must be kept, not dropped as unknown.
    const second = await started({
      store: new LevelCommandStore(after.sublevel('commands', { valueEncoding: 'json' })),
      devices: new FakeDevices(),
    });
    expect(second.router.pending().map((c) => c.id)).toEqual(['c1', 'c2']);

    second.devices.add('sim:sleepy-01');
    second.router.deviceAwake('sim:sleepy-01');
    await waitFor(() => second.published.length === 2, 'both results');
    await second.router.stop(); // waits for the answered commands to leave the store
    expect(second.devices.executed).toMatchObject([{ id: 'c1', args: { level: 10 } }, { id: 'c2' }]);
    expect(second.published.map((p) => p.address)).toEqual([
      { id: 'c1', device: 'sim:sleepy-01', route: 'cloud', origin: 'mqtt' },
      { id: 'c2', device: 'sim:sleepy-01', route: 'cloud', origin: 'mqtt' },
    ]);
    expect(await loadAll(second.store)).toEqual([]);
  });

  it('expires on start the stored commands whose TTL passed while the gateway was down', async () => {
    const store = new MemoryCommandStore();
    await store.put({
      seq: 1,
      command: {
        id: 'old',
        device: 'sim:a',
        name: 'toggle',
        args: {},
        expiresAt: 500,
        origin: 'aws',
        route: 'r',
      },
    });
    await store.put({
      seq: 2,
      command: { id: 'fresh', device: 'sim:a', name: 'toggle', args: {}, expiresAt: 5_000, origin: 'aws' },
    });
    const h = await started({ store, now: () => 1_000 });
    // Answered right after the start, in the background: the start never waits for a route to connect.
    await waitFor(() => h.router.stats().leftovers === 0, 'the expired command to be answered');
    expect(h.published).toEqual([
      {
        address: { id: 'old', device: 'sim:a', route: 'r', origin: 'aws' },
        result: { id: 'old', status: 'expired', detail: 'expired while waiting for the device' },
      },
    ]);
    expect((await loadAll(store)).map((e) => e.command.id)).toEqual(['fresh']);
    expect(h.router.pending().map((c) => c.id)).toEqual(['fresh']);
  });

  it('numbers new commands after the stored ones so a device’s FIFO order survives a restart', async () => {
    const store = new MemoryCommandStore();
    await store.put({
      seq: 41,
      command: {
        id: 'stored',
        device: 'sim:sleepy-01',
        name: 'toggle',
        args: {},
        expiresAt: 9e15,
        origin: 'mqtt',
      },
    });
    const devices = new FakeDevices();
    devices.add('sim:sleepy-01', { isReachable: false });
    const h = await started({ store, devices });
    void h.router.submit(incoming('new', 'sim:sleepy-01'), fromMqtt);
    await waitFor(() => h.router.pending().length === 2, 'two held commands');
    expect((await loadAll(store)).map((e) => [e.seq, e.command.id])).toEqual([
      [41, 'stored'],
      [42, 'new'],
    ]);
  });

  it('on stop, aborts an execution in flight and keeps its command stored for the next start', async () => {
    const h = createHarness();
    await h.router.start();
    h.devices.add('sim:stuck-01');
    let signal: AbortSignal | undefined;
    h.devices.respond = (_cmd, s) => {
      signal = s;
      return new Promise<never>(() => undefined);
    };
    const result = h.router.submit(incoming('c1', 'sim:stuck-01'), fromMqtt);
    await waitFor(() => signal !== undefined, 'the execution to start');
    await h.router.stop();

    expect(signal?.aborted).toBe(true);
    expect(await result).toMatchObject({ id: 'c1', status: 'failed' });
    expect(h.published).toEqual([]);
    expect((await loadAll(h.store)).map((e) => e.command.id)).toEqual(['c1']);
  });
});
