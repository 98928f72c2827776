import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRetryable } from '../../src/errors.js';
import type { Envelope } from '../../src/model.js';
import type { IncomingCommand, Upstream } from '../../src/upstream/upstream.js';
import { waitFor } from '../fakes/wait-for.js';

/** The cloud side of one upstream under test, as the contract suite needs to drive and observe it. */
export interface UpstreamHarness {
  /** A connector for the gateway `gw-contract`, route `contract`; not yet connected. */
  upstream: Upstream;
  /** Gateway sequence numbers the cloud has received so far, in arrival order. */
  received(): number[];
  /** Results the cloud has received so far. */
  results(): { id: string; status: string; device?: string }[];
  /** The cloud sends a command to a device behind the gateway. */
  sendCommand(
    device: string,
    body: { id: string; name: string; args?: Record<string, unknown> },
  ): Promise<void>;
  /** The cloud becomes unreachable: open connections drop and new ones are refused. */
  takeOffline(): Promise<void>;
  dispose(): Promise<void>;
}

const envelope = (gseq: number, values: Envelope['reading']['values'] = { n: gseq }): Envelope => ({
  gseq,
  reading: { device: 'sim:thermo-01', ts: 1_700_000_000_000 + gseq, values },
});

const live = (): AbortSignal => new AbortController().signal;

/**
 * What every `Upstream` must do (docs/architecture.md#upstream): deliver and acknowledge batches, refuse what
 * can never fit
 * without retrying it forever, report `retry` (never throw) when the cloud is gone, and carry commands down
 * and results up.
 */
export function describeUpstreamContract(name: string, createHarness: () => Promise<UpstreamHarness>): void {
  describe(`Upstream contract: ${name}`, () => {
    let harness: UpstreamHarness;
    beforeEach(async () => {
      harness = await createHarness();
    });
    afterEach(async () => {
      await harness.upstream.close();
      await harness.dispose();
    });

    it('delivers a batch and resolves ok only once the cloud has it', async () => {
      await harness.upstream.connect(live());
      expect(harness.upstream.isConnected).toBe(true);
      const result = await harness.upstream.send(
        [1, 2, 3].map((g) => envelope(g)),
        live(),
      );
      expect(result).toEqual({ kind: 'ok' });
      await waitFor(() => harness.received().length === 3, 'the cloud to see 3 readings');
      expect(harness.received()).toEqual([1, 2, 3]);
    });

    it('refuses a reading that alone exceeds maxMessageBytes and delivers the rest', async () => {
      await harness.upstream.connect(live());
      const huge = envelope(2, { blob: 'x'.repeat(harness.upstream.limits.maxMessageBytes + 1) });
      const result = await harness.upstream.send([envelope(1), huge, envelope(3)], live());
      expect(result.kind).toBe('partial');
      if (result.kind !== 'partial') return;
      expect(result.rejected.map((r) => r.gseq)).toEqual([2]);
      expect([...result.acked].sort()).toEqual([1, 3]);
      await waitFor(() => harness.received().length === 2, 'the cloud to see the 2 that fit');
    });

    it('rejects a batch made only of oversized readings', async () => {
      await harness.upstream.connect(live());
      const huge = envelope(1, { blob: 'x'.repeat(harness.upstream.limits.maxMessageBytes + 1) });
      expect((await harness.upstream.send([huge], live())).kind).toBe('reject');
    });

    it('answers retry, without throwing, when the cloud is gone, and connect then fails retryably', async () => {
      await harness.upstream.connect(live());
      await harness.takeOffline();
      await waitFor(() => !harness.upstream.isConnected, 'the connection to drop');
      expect(await harness.upstream.send([envelope(1)], live())).toMatchObject({ kind: 'retry' });
      const error = await harness.upstream.connect(live()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isRetryable(error)).toBe(true);
    });

    it('delivers overlapping sends, each batch in order, when it declares it takes them', async (context) => {
      if ((harness.upstream.maxConcurrentSends ?? 1) < 2) context.skip('sends one batch at a time');
      await harness.upstream.connect(live());
      const batches = [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ];
      const results = await Promise.all(
        batches.map((batch) =>
          harness.upstream.send(
            batch.map((g) => envelope(g)),
            live(),
          ),
        ),
      );
      expect(results).toEqual(batches.map(() => ({ kind: 'ok' })));
      await waitFor(() => harness.received().length === 9, 'the cloud to see 9 readings');
      for (const batch of batches) {
        expect(harness.received().filter((g) => batch.includes(g))).toEqual(batch);
      }
    });

    it('answers retry when the send is aborted', async () => {
      await harness.upstream.connect(live());
      const controller = new AbortController();
      controller.abort();
      expect(await harness.upstream.send([envelope(1)], controller.signal)).toMatchObject({ kind: 'retry' });
    });

    it('hands a command from the cloud to the handler', async () => {
      const received: IncomingCommand[] = [];
      harness.upstream.onCommand((incoming) => received.push(incoming));
      await harness.upstream.connect(live());
      await harness.sendCommand('sim:switch-01', { id: 'cmd-1', name: 'on', args: { level: 2 } });
      await waitFor(() => received.length === 1, 'the command to arrive');
      expect(received[0]).toMatchObject({
        kind: 'command',
        command: { id: 'cmd-1', device: 'sim:switch-01', name: 'on', args: { level: 2 } },
      });
    });

    it('reports a command result to the cloud', async () => {
      await harness.upstream.connect(live());
      await harness.upstream.publishResult(
        { id: 'cmd-2', device: 'sim:switch-01' },
        { id: 'cmd-2', status: 'ok' },
      );
      await waitFor(() => harness.results().length === 1, 'the result to arrive');
      expect(harness.results()[0]).toMatchObject({ id: 'cmd-2', status: 'ok', device: 'sim:switch-01' });
    });

    it('takes a result while offline: resolves (never rejects), claims no delivery, and stays usable', async () => {
      await harness.upstream.connect(live());
      await harness.takeOffline();
      await waitFor(() => !harness.upstream.isConnected, 'the connection to drop');
      // The router awaits this: a network condition must neither reject it nor leave it hanging.
      await expect(
        harness.upstream.publishResult({ id: 'cmd-3' }, { id: 'cmd-3', status: 'expired' }),
      ).resolves.toBeUndefined();
      expect(harness.results().map((r) => r.id)).not.toContain('cmd-3');
      expect(harness.upstream.isConnected).toBe(false);
      // Still a connector the forwarder can retry: the next connect fails retryably, it does not throw a bug.
      const error = await harness.upstream.connect(live()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isRetryable(error)).toBe(true);
    });
  });
}
