import { describe, expect, it } from 'vitest';
import { C2dQueues, QueueDepthExceededError } from '../../../../emulators/azure/index.js';

function setup(options: { maxDeliveryCount?: number } = {}) {
  const clock = { now: 0 };
  const queues = new C2dQueues({ now: () => clock.now, ...options });
  return { clock, queues };
}

describe('the emulated C2D engine', () => {
  it('delivers in order and completes with feedback when asked', () => {
    const { queues } = setup();
    queues.enqueue('d', { body: 'a', messageId: 'm1', ack: 'full' });
    queues.enqueue('d', { body: 'b', messageId: 'm2' });
    const first = queues.receive('d')!;
    expect(first.messageId).toBe('m1');
    expect(queues.receive('d')!.messageId).toBe('m2');
    expect(queues.complete('d', first.lockToken!)).toBe(true);
    expect(queues.feedback()).toMatchObject([{ originalMessageId: 'm1', statusCode: 'Success' }]);
    expect(queues.depth('d')).toBe(1);
  });

  it('refuses a 51st message for one device', () => {
    const { queues } = setup();
    for (let i = 0; i < 50; i += 1) queues.enqueue('d', { body: String(i) });
    expect(() => queues.enqueue('d', { body: 'x' })).toThrow(QueueDepthExceededError);
    expect(() => queues.enqueue('other', { body: 'x' })).not.toThrow();
  });

  it('unlocks after 60 s without counting a delivery, and a stale lock cannot complete (412)', () => {
    const { clock, queues } = setup();
    queues.enqueue('d', { body: 'a' });
    const staleToken = queues.receive('d')!.lockToken!;
    expect(queues.receive('d')).toBeUndefined();
    clock.now = 60_000;
    const again = queues.receive('d')!;
    expect(again.deliveryCount).toBe(0);
    expect(queues.complete('d', staleToken)).toBe(false);
    expect(queues.complete('d', again.lockToken!)).toBe(true);
  });

  it('counts abandons and dead-letters at maxDeliveryCount', () => {
    const { queues } = setup({ maxDeliveryCount: 2 });
    queues.enqueue('d', { body: 'a', messageId: 'm', ack: 'negative' });
    queues.abandon('d', queues.receive('d')!.lockToken!);
    const second = queues.receive('d')!;
    expect(second.deliveryCount).toBe(1);
    queues.abandon('d', second.lockToken!);
    expect(queues.depth('d')).toBe(0);
    expect(queues.feedback()).toMatchObject([
      { originalMessageId: 'm', statusCode: 'DeliveryCountExceeded' },
    ]);
  });

  it('dead-letters an expired message unseen, with Expired feedback', () => {
    const { clock, queues } = setup();
    queues.enqueue('d', { body: 'a', messageId: 'm', ttlMs: 1000, ack: 'negative' });
    clock.now = 1000;
    expect(queues.receive('d')).toBeUndefined();
    expect(queues.feedback()).toMatchObject([{ originalMessageId: 'm', statusCode: 'Expired' }]);
  });

  it('rejects with Rejected feedback', () => {
    const { queues } = setup();
    queues.enqueue('d', { body: 'a', messageId: 'm', ack: 'full' });
    expect(queues.reject('d', queues.receive('d')!.lockToken!)).toBe(true);
    expect(queues.feedback()).toMatchObject([{ statusCode: 'Rejected' }]);
  });
});
