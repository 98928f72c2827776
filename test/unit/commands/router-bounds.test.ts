import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCommandStore, loadAll, type StoredCommand } from '../../../src/commands/command-store.js';
import type { CommandRouter } from '../../../src/commands/router.js';
import { deferred, waitFor } from './fake-devices.js';
import { createHarness, fromMqtt, incoming } from './router-harness.js';

const NOW = 1_000_000;
const routers: CommandRouter[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.stop();
});

async function started(options: Parameters<typeof createHarness>[0] = {}) {
  const h = createHarness({ now: () => NOW, ...options });
  routers.push(h.router);
  await h.router.start();
  return h;
}

function stored(seq: number, id: string, device: string, extra: Partial<StoredCommand['command']> = {}) {
  const command = { id, device, name: 'toggle', args: {}, origin: 'mqtt' as const, route: 'cloud' };
  return { seq, command: { ...command, expiresAt: NOW + 60_000, receivedAt: NOW - 1000, ...extra } };
}

describe('CommandRouter: bounds at intake', () => {
  it('answers an id over maxIdLength at once with its first characters, and counts it', async () => {
    const h = await started({ config: { maxIdLength: 40 } });
    h.devices.add('sim:sleepy-01', { isReachable: false });
    const long = 'a'.repeat(40);
    // Two different long ids sharing the prefix the result shows: each still gets its own result.
    const first = await h.router.submit(incoming(`${long}-one`, 'sim:sleepy-01'), fromMqtt);
    const second = await h.router.submit(incoming(`${long}-two`, 'sim:sleepy-01'), fromMqtt);
    expect(first).toEqual({
      id: long,
      status: 'rejected',
      detail:
        'command id is 44 characters; the limit is 40 (commands.maxIdLength; this result carries its first 40)',
    });
    expect(second).toMatchObject({ id: long, status: 'rejected' });
    expect(h.published).toHaveLength(2);
    expect(h.router.pending()).toEqual([]);
    expect(await loadAll(h.store)).toEqual([]);
    expect(h.router.stats().refused.idTooLong).toBe(2);
  });

  it('holds at most maxHeld commands over all devices and refuses the next with a reason', async () => {
    const h = await started({ config: { maxHeld: 3, maxPerDevice: 2 } });
    for (const device of ['sim:a', 'sim:b']) h.devices.add(device, { isReachable: false });
    for (const [id, device] of [
      ['a1', 'sim:a'],
      ['a2', 'sim:a'],
      ['b1', 'sim:b'],
    ] as const)
      void h.router.submit(incoming(id, device), fromMqtt);
    const refused = await h.router.submit(incoming('b2', 'sim:b'), fromMqtt);
    expect(refused).toEqual({
      id: 'b2',
      status: 'rejected',
      detail: 'the gateway holds 3 commands for devices (commands.maxHeld); try again later',
    });
    expect(h.router.pending().map((c) => c.id)).toEqual(['a1', 'a2', 'b1']);
    expect(h.router.stats().refused).toMatchObject({ gatewayFull: 1, deviceFull: 0 });
  });
});

describe('CommandRouter: ids are scoped per route', () => {
  it('runs the same id from two routes twice, with a result for each route', async () => {
    const h = await started();
    h.devices.add('sim:switch-01');
    const [onCloud, onOther] = await Promise.all([
      h.router.submit(incoming('same', 'sim:switch-01'), fromMqtt),
      h.router.submit(incoming('same', 'sim:switch-01'), { route: 'other', origin: 'mqtt' }),
    ]);
    expect([onCloud.status, onOther.status]).toEqual(['ok', 'ok']);
    expect(h.devices.executed).toHaveLength(2);
    expect(h.published.map((p) => p.address.route)).toEqual(['cloud', 'other']);
  });

  it('still runs a redelivery on the same route once, pending or finished', async () => {
    const h = await started();
    h.devices.add('sim:sleepy-01', { isReachable: false });
    const first = h.router.submit(incoming('c1', 'sim:sleepy-01'), fromMqtt);
    void h.router.submit(incoming('c1', 'sim:sleepy-01'), fromMqtt);
    h.devices.setReachable('sim:sleepy-01', true);
    h.router.deviceAwake('sim:sleepy-01');
    await first;
    await h.router.submit(incoming('c1', 'sim:sleepy-01'), fromMqtt);
    expect(h.devices.executed).toHaveLength(1);
    expect(h.resultsFor('c1')).toHaveLength(1);
  });
});

describe('CommandRouter: a store over the limits loads without failing', () => {
  it('holds the earliest per device and in total, and answers every other one once', async () => {
    const store = new MemoryCommandStore();
    // sim:a has 3 (limit 2 per device), in all 5 fit the devices (limit 3 in total).
    for (const [seq, device] of [
      [1, 'sim:a'],
      [2, 'sim:b'],
      [3, 'sim:a'],
      [4, 'sim:a'],
      [5, 'sim:c'],
      [6, 'sim:b'],
    ] as const)
      await store.put(stored(seq, `c${seq}`, device));
    const h = await started({ store, config: { maxPerDevice: 2, maxHeld: 3 } });
    expect(h.router.pending().map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    await waitFor(() => h.router.stats().leftovers === 0, 'the leftovers to be answered');
    expect(h.published.map((p) => p.result.id).sort()).toEqual(['c4', 'c5', 'c6']);
    expect(h.published[0]?.result).toMatchObject({
      status: 'rejected',
      detail: expect.stringContaining('commands.maxPerDevice (2) and commands.maxHeld (3)') as unknown,
    });
    expect((await loadAll(store)).map((e) => e.command.id)).toEqual(['c1', 'c3', 'c2']);
    expect(h.router.stats().refused.overLimitsAtStart).toBe(3);
  });

  it('answers an oversized stored command under its shortened id, and skips damaged entries', async () => {
    const store = new MemoryCommandStore();
    await store.put(stored(1, 'x'.repeat(100), 'sim:a'));
    await store.put(stored(2, 'big-args', 'sim:a', { args: { blob: 'y'.repeat(1000) } }));
    store.putRaw('sim:a!0000000000000003', '{"torn');
    store.putRaw('sim:a!0000000000000004', JSON.stringify({ seq: 4, something: 'else' }));
    await store.put(stored(5, 'fine', 'sim:a'));
    const h = await started({ store, config: { maxIdLength: 64, maxArgsBytes: 256 } });
    await waitFor(() => h.router.stats().leftovers === 0, 'the leftovers to be answered');
    expect(h.router.pending().map((c) => c.id)).toEqual(['fine']);
    expect(h.published.map((p) => [p.result.id, p.result.status])).toEqual([
      ['x'.repeat(64), 'rejected'],
      ['big-args', 'rejected'],
    ]);
    expect(h.published[1]?.result.detail).toBe(
      'held since before a restart, but args are 1011 bytes; the limit is 256',
    );
    expect(h.router.stats()).toMatchObject({ damaged: 2, leftovers: 0 });
    // New commands number after everything found, readable or not.
    h.devices.add('sim:a', { isReachable: false });
    void h.router.submit(incoming('new', 'sim:a'), fromMqtt);
    await waitFor(() => h.router.pending().length === 2, 'the new command held');
    const keys = (await loadAll(store)).map((e) => e.seq);
    expect(keys).toEqual([5, 6]);
  });

  it('answers the leftovers only once their route is connected', async () => {
    const store = new MemoryCommandStore();
    await store.put(stored(1, 'late', 'sim:a', { expiresAt: NOW - 1 }));
    let isConnected = false;
    let asked = 0;
    const h = await started({
      store,
      isRouteConnected: () => {
        asked += 1;
        return isConnected;
      },
    });
    await waitFor(() => asked >= 3, 'the router to find the route offline three times');
    expect(h.published).toEqual([]);
    isConnected = true;
    await waitFor(() => h.published.length === 1, 'the result once connected');
    expect(h.published[0]?.result).toMatchObject({ id: 'late', status: 'expired' });
  });

  it('leaves the leftovers stored when it stops before their route connects', async () => {
    const store = new MemoryCommandStore();
    await store.put(stored(1, 'late', 'sim:a', { expiresAt: NOW - 1 }));
    const h = await started({ store, isRouteConnected: () => false });
    await h.router.stop();
    expect(h.published).toEqual([]);
    expect((await loadAll(store)).map((e) => e.command.id)).toEqual(['late']);
  });
});

describe('CommandRouter: list and purge', () => {
  it('lists held commands and purges a selection, each with one result "purged by operator"', async () => {
    const h = await started();
    for (const device of ['sim:a', 'sim:b']) h.devices.add(device, { isReachable: false });
    void h.router.submit(incoming('a1', 'sim:a'), fromMqtt);
    void h.router.submit(incoming('b1', 'sim:b'), fromMqtt);
    void h.router.submit(incoming('b2', 'sim:b'), { route: 'other', origin: 'mqtt' });
    await waitFor(() => h.router.pending().length === 3, 'three held');
    expect(h.router.held({ device: (d) => d === 'sim:b' })).toEqual([
      {
        id: 'b1',
        device: 'sim:b',
        name: 'toggle',
        route: 'cloud',
        origin: 'mqtt',
        receivedAt: NOW,
        expiresAt: NOW + 60_000,
        isExecuting: false,
      },
      {
        id: 'b2',
        device: 'sim:b',
        name: 'toggle',
        route: 'other',
        origin: 'mqtt',
        receivedAt: NOW,
        expiresAt: NOW + 60_000,
        isExecuting: false,
      },
    ]);

    const { purged } = await h.router.purge({ route: 'cloud' });
    expect(purged.map((c) => c.id)).toEqual(['a1', 'b1']);
    expect(h.published.map((p) => [p.address.route, p.result])).toEqual([
      ['cloud', { id: 'a1', status: 'rejected', detail: 'purged by operator' }],
      ['cloud', { id: 'b1', status: 'rejected', detail: 'purged by operator' }],
    ]);
    expect((await loadAll(h.store)).map((e) => e.command.id)).toEqual(['b2']);
    expect(h.router.stats().refused.purged).toBe(2);
    // A purged command's redelivery is recognised: it was answered.
    await h.router.submit(incoming('a1', 'sim:a'), fromMqtt);
    expect(h.resultsFor('a1')).toHaveLength(1);
  });

  it('leaves a command that is executing to finish with its own result', async () => {
    const h = await started();
    h.devices.add('sim:a');
    const gate = deferred();
    h.devices.respond = async (cmd) => {
      await gate.promise;
      return { id: cmd.id, status: 'ok' };
    };
    const result = h.router.submit(incoming('run', 'sim:a'), fromMqtt);
    await waitFor(() => h.devices.executed.length === 1, 'the execution');
    expect(await h.router.purge({ id: 'run' })).toEqual({ purged: [], executing: 1 });
    gate.resolve();
    expect(await result).toMatchObject({ status: 'ok' });
    expect(h.resultsFor('run')).toHaveLength(1);
  });
});
