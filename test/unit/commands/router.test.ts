import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { MemoryCommandStore, loadAll } from '../../../src/commands/command-store.js';
import type { CommandRouter } from '../../../src/commands/router.js';
import { deferred, waitFor } from './fake-devices.js';
import { createHarness, fromMqtt, incoming } from './router-harness.js';

const routers: CommandRouter[] = [];
function track<T extends { router: CommandRouter }>(harness: T): T {
  routers.push(harness.router);
  return harness;
}
afterEach(async () => {
  for (const router of routers.splice(0)) await router.stop();
});

async function started(
  options: Parameters<typeof createHarness>[0] = {},
): Promise<ReturnType<typeof createHarness>> {
  const harness = track(createHarness(options));
  await harness.router.start();
  return harness;
}

describe('CommandRouter: validation before queueing', () => {
  it('executes a valid command for a reachable device and publishes one ok result to its route', async () => {
    const h = await started();
    h.devices.add('sim:switch-01');
    const result = await h.router.submit(
      incoming('c1', 'sim:switch-01', 'set', { args: { level: 40 } }),
      fromMqtt,
    );
    expect(result).toEqual({ id: 'c1', status: 'ok' });
    expect(h.devices.executed).toMatchObject([{ id: 'c1', name: 'set', args: { level: 40 } }]);
    expect(h.published).toEqual([
      { address: { id: 'c1', device: 'sim:switch-01', route: 'cloud', origin: 'mqtt' }, result },
    ]);
    expect(await loadAll(h.store)).toEqual([]);
  });

  it.each([
    [
      'an invalid incoming command',
      { kind: 'invalid', id: 'c1', reason: 'payload is not JSON' } as const,
      'payload is not JSON',
    ],
    ['an unknown device', incoming('c1', 'sim:nobody'), 'unknown device sim:nobody'],
    [
      'an unknown command',
      incoming('c1', 'sim:switch-01', 'reboot'),
      'unknown command reboot for sim:switch-01; it supports: toggle, set',
    ],
    [
      'an out-of-range argument',
      incoming('c1', 'sim:switch-01', 'set', { args: { level: 101 } }),
      'argument level of set must be at most 100, got 101',
    ],
    [
      'oversized args',
      incoming('c1', 'sim:switch-01', 'set', { args: { level: 1, pad: 'x'.repeat(300) } }),
      'args of set are 320 bytes; the limit is 256',
    ],
  ])('rejects %s with its reason and never executes it', async (_case, command, detail) => {
    const h = await started();
    h.devices.add('sim:switch-01');
    const result = await h.router.submit(command, fromMqtt);
    expect(result).toEqual({ id: 'c1', status: 'rejected', detail });
    expect(h.resultsFor('c1')).toEqual([result]);
    expect(h.devices.executed).toEqual([]);
    expect(await loadAll(h.store)).toEqual([]);
  });

  it('rejects a command beyond maxPerDevice held for a sleeping device', async () => {
    const h = await started({ config: { maxPerDevice: 2 } });
    h.devices.add('sim:sleepy-01', { isReachable: false });
    void h.router.submit(incoming('c1', 'sim:sleepy-01'), fromMqtt);
    void h.router.submit(incoming('c2', 'sim:sleepy-01'), fromMqtt);
    const third = await h.router.submit(incoming('c3', 'sim:sleepy-01'), fromMqtt);
    expect(third).toMatchObject({
      status: 'rejected',
      detail: 'too many pending commands for sim:sleepy-01 (commands.maxPerDevice is 2)',
    });
    expect(h.router.pending('sim:sleepy-01').map((c) => c.id)).toEqual(['c1', 'c2']);
  });
});

describe('CommandRouter: exactly one result', () => {
  it('ignores a redelivery of a pending command: one execution, one result', async () => {
    const h = await started();
    h.devices.add('sim:sleepy-01', { isReachable: false });
    const first = h.router.submit(incoming('c1', 'sim:sleepy-01'), fromMqtt);
    const again = h.router.submit(incoming('c1', 'sim:sleepy-01'), fromMqtt);
    expect(h.router.pending()).toHaveLength(1);
    h.devices.setReachable('sim:sleepy-01', true);
    h.router.deviceAwake('sim:sleepy-01');
    expect(await first).toEqual({ id: 'c1', status: 'ok' });
    expect(await again).toEqual({ id: 'c1', status: 'ok' });
    expect(h.devices.executedIds()).toEqual(['c1']);
    expect(h.resultsFor('c1')).toHaveLength(1);
  });

  it('ignores a redelivery of a recently finished command, and only recently', async () => {
    const h = await started({ recentCapacity: 2 });
    h.devices.add('sim:switch-01');
    await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt);
    expect(await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt)).toEqual({
      id: 'c1',
      status: 'ok',
    });
    expect(h.devices.executedIds()).toEqual(['c1']);

    // Two newer ids push c1 out of the bounded memory: it is then a new command again.
    await h.router.submit(incoming('c2', 'sim:switch-01'), fromMqtt);
    await h.router.submit(incoming('c3', 'sim:switch-01'), fromMqtt);
    await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt);
    expect(h.devices.executedIds()).toEqual(['c1', 'c2', 'c3', 'c1']);
  });

  it('ignores a redelivery of a rejected command', async () => {
    const h = await started();
    await h.router.submit(incoming('c1', 'sim:nobody'), fromMqtt);
    await h.router.submit(incoming('c1', 'sim:nobody'), fromMqtt);
    expect(h.resultsFor('c1')).toHaveLength(1);
  });

  it('answers failed with the message when the adapter throws, and keeps serving the device', async () => {
    const h = await started();
    h.devices.add('sim:switch-01');
    h.devices.respond = (cmd) =>
      cmd.id === 'c1'
        ? Promise.reject(new Error('radio jammed'))
        : Promise.resolve({ id: cmd.id, status: 'ok' });
    expect(await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt)).toEqual({
      id: 'c1',
      status: 'failed',
      detail: 'radio jammed',
    });
    expect(await h.router.submit(incoming('c2', 'sim:switch-01'), fromMqtt)).toMatchObject({ status: 'ok' });
  });

  it('keeps the adapter’s own status, such as unsupported, under the command’s id', async () => {
    const h = await started();
    h.devices.add('sim:switch-01');
    h.devices.respond = () =>
      Promise.resolve({ id: 'whatever', status: 'unsupported', detail: 'not in this firmware' });
    expect(await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt)).toEqual({
      id: 'c1',
      status: 'unsupported',
      detail: 'not in this firmware',
    });
  });

  it('survives a failing publishResult: the command still ends and leaves the store', async () => {
    const h = await started({ publishResult: () => Promise.reject(new Error('upstream offline')) });
    h.devices.add('sim:switch-01');
    expect(await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt)).toMatchObject({ status: 'ok' });
    expect(await loadAll(h.store)).toEqual([]);
  });

  it('removes a command from the store only after its result was handed to publishResult', async () => {
    const publishing = deferred();
    const h = await started({ publishResult: () => publishing.promise });
    h.devices.add('sim:switch-01');
    const result = h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt);
    await waitFor(() => h.published.length === 1, 'the result to be handed over');
    expect((await loadAll(h.store)).map((e) => e.command.id)).toEqual(['c1']);
    publishing.resolve();
    await result;
    expect(await loadAll(h.store)).toEqual([]);
  });

  it('answers failed, without executing, when the command cannot be stored', async () => {
    class FullDiskStore extends MemoryCommandStore {
      override put(): Promise<void> {
        return Promise.reject(new Error('ENOSPC: no space left on device'));
      }
    }
    const h = await started({ store: new FullDiskStore() });
    h.devices.add('sim:switch-01');
    expect(await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt)).toEqual({
      id: 'c1',
      status: 'failed',
      detail: 'could not store the command: ENOSPC: no space left on device',
    });
    expect(h.devices.executed).toEqual([]);
    expect(h.resultsFor('c1')).toHaveLength(1);
  });

  it('counts what it received and how each command ended', async () => {
    const h = await started();
    h.devices.add('sim:switch-01');
    h.devices.add('sim:sleepy-01', { isReachable: false });
    await h.router.submit(incoming('c1', 'sim:switch-01'), fromMqtt);
    await h.router.submit(incoming('c2', 'sim:nobody'), fromMqtt);
    void h.router.submit(incoming('c3', 'sim:sleepy-01'), fromMqtt);
    expect(h.router.stats()).toEqual({
      received: 3,
      byStatus: { ok: 1, failed: 0, expired: 0, rejected: 1, unsupported: 0 },
      pending: 1,
      refused: { idTooLong: 0, deviceFull: 0, gatewayFull: 0, overLimitsAtStart: 0, purged: 0 },
      damaged: 0,
      leftovers: 0,
    });
  });
});

describe('CommandRouter: log lines', () => {
  it('one INFO line when a command is accepted and one with its result; a redelivery adds none', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const h = await started({ log: createLogger({ level: 'info', destination }) });
    h.devices.add('sim:switch-01');
    await h.router.submit(incoming('c1', 'sim:switch-01', 'set', { args: { level: 40 } }), fromMqtt);
    await h.router.submit(incoming('c1', 'sim:switch-01', 'set', { args: { level: 40 } }), fromMqtt);
    const commandLines = lines.filter((l) => l.commandId === 'c1');
    expect(commandLines).toMatchObject([
      { level: 30, msg: 'Command received.', device: 'sim:switch-01', name: 'set', route: 'cloud' },
      { level: 30, msg: 'Command finished.', status: 'ok' },
    ]);
  });
});
