import { describe, expect, it } from 'vitest';
import type { StoredCommand } from '../../../src/commands/command-store.js';
import { DeviceQueues } from '../../../src/commands/device-queues.js';

function stored(seq: number, id: string, device: string): StoredCommand {
  return {
    seq,
    command: { id, device, name: 'toggle', args: {}, origin: 'mqtt', expiresAt: 1_000_000 + seq },
  };
}

describe('DeviceQueues', () => {
  it('keeps one FIFO per device and lists commands in arrival order across devices', () => {
    const queues = new DeviceQueues();
    queues.add(stored(1, 'a1', 'sim:a'), Promise.resolve(true));
    queues.add(stored(2, 'b1', 'sim:b'), Promise.resolve(true));
    queues.add(stored(3, 'a2', 'sim:a'), Promise.resolve(true));

    expect(queues.head('sim:a')?.stored.command.id).toBe('a1');
    expect(queues.length('sim:a')).toBe(2);
    expect(queues.size).toBe(3);
    expect(queues.commands().map((c) => c.id)).toEqual(['a1', 'b1', 'a2']);
    expect(queues.commands('sim:a').map((c) => c.id)).toEqual(['a1', 'a2']);
  });

  it('forgets a device once its last command is removed, and ignores a second removal', () => {
    const queues = new DeviceQueues();
    const a1 = queues.add(stored(1, 'a1', 'sim:a'), Promise.resolve(true));
    const a2 = queues.add(stored(2, 'a2', 'sim:a'), Promise.resolve(true));
    queues.remove(a2);
    queues.remove(a2);
    expect(queues.head('sim:a')).toBe(a1);
    expect(queues.commands().map((c) => c.id)).toEqual(['a1']);
    queues.remove(a1);
    expect(queues.devices()).toEqual([]);
    expect(queues.size).toBe(0);
  });

  it('hands out copies, so a caller cannot change a queued command', () => {
    const queues = new DeviceQueues();
    queues.add(stored(1, 'a1', 'sim:a'), Promise.resolve(true));
    const [copy] = queues.commands('sim:a');
    copy!.args.level = 9;
    expect(queues.commands('sim:a')[0]?.args).toEqual({});
  });

  it('resolves an entry’s result through its resolve', async () => {
    const queues = new DeviceQueues();
    const pending = queues.add(stored(1, 'a1', 'sim:a'), Promise.resolve(true));
    pending.resolve({ id: 'a1', status: 'ok' });
    expect(await pending.result).toEqual({ id: 'a1', status: 'ok' });
  });
});
