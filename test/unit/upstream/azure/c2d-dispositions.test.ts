import type { Delivery } from 'rhea';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/logger.js';
import { C2dDispositions } from '../../../../src/upstream/azure/c2d-dispositions.js';
import type { IncomingCommand } from '../../../../src/upstream/upstream.js';

/** A C2D delivery that records how it was settled: what the hub would see. */
function delivery(): Delivery & { outcome: string[] } {
  const outcome: string[] = [];
  return {
    outcome,
    // rhea's connection, flushed around each settlement so that each disposition goes out alone.
    link: { connection: { _process: () => undefined } },
    accept: () => void outcome.push('accepted'),
    reject: (error?: { condition: string }) => void outcome.push(`rejected ${error?.condition ?? ''}`),
    release: () => void outcome.push('released'),
  } as unknown as Delivery & { outcome: string[] };
}

const command = (id: string): IncomingCommand => ({
  kind: 'command',
  command: { id, device: 'sim:switch-01', name: 'on', args: {}, origin: 'azure' },
});

describe('C2dDispositions', () => {
  it('holds a delivery until the result: done completes it, refused or expired dead-letters it', () => {
    const c2d = new C2dDispositions(createLogger({ level: 'silent' }));
    const [ok, failed, refused, late] = [delivery(), delivery(), delivery(), delivery()];
    const handled: string[] = [];
    const handler = (incoming: IncomingCommand) => void handled.push(incoming.kind);
    c2d.receive(command('c-ok'), ok, handler);
    c2d.receive(command('c-failed'), failed, handler);
    c2d.receive(command('c-refused'), refused, handler);
    c2d.receive({ kind: 'invalid', id: 'c-late', reason: 'expired' }, late, handler);
    expect(handled).toEqual(['command', 'command', 'command', 'invalid']);
    expect(ok.outcome).toEqual([]);

    c2d.settle('c-ok', 'ok');
    c2d.settle('c-failed', 'failed');
    c2d.settle('c-refused', 'rejected');
    c2d.settle('c-late', 'expired');
    c2d.settle('c-ok', 'ok');
    expect([ok, failed, refused, late].map((d) => d.outcome)).toEqual([
      ['accepted'],
      ['accepted'],
      ['rejected amqp:precondition-failed'],
      ['rejected amqp:precondition-failed'],
    ]);
  });

  it('settles a redelivery of a settled command the same way, without running it again', () => {
    const c2d = new C2dDispositions(createLogger({ level: 'silent' }));
    let runs = 0;
    c2d.receive(command('c-1'), delivery(), () => void (runs += 1));
    c2d.settle('c-1', 'rejected');
    const again = delivery();
    c2d.receive(command('c-1'), again, () => void (runs += 1));
    expect(runs).toBe(1);
    expect(again.outcome).toEqual(['rejected amqp:precondition-failed']);
  });

  it('releases a message nobody could take: no handler, or a handler that threw', () => {
    const c2d = new C2dDispositions(createLogger({ level: 'silent' }));
    const unhandled = delivery();
    const threw = delivery();
    c2d.receive(command('c-1'), unhandled, undefined);
    c2d.receive(command('c-2'), threw, () => {
      throw new Error('boom');
    });
    expect([unhandled.outcome, threw.outcome]).toEqual([['released'], ['released']]);
    // Released is not settled: the redelivery runs.
    let runs = 0;
    c2d.receive(command('c-2'), delivery(), () => void (runs += 1));
    expect(runs).toBe(1);
  });

  it('forgets deliveries of a dropped connection: a late result settles nothing', () => {
    const c2d = new C2dDispositions(createLogger({ level: 'silent' }));
    const dropped = delivery();
    c2d.receive(command('c-1'), dropped, () => undefined);
    c2d.forgetUnsettled();
    c2d.settle('c-1', 'ok');
    expect(dropped.outcome).toEqual([]);
  });
});
