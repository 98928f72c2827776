import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import { AwsUpstream } from '../../../../src/upstream/aws/aws-upstream.js';
import { PublishBudget } from '../../../../src/upstream/aws/publish-budget.js';
import { awsConfigFor, memoryFiles, startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

const live = (): AbortSignal => new AbortController().signal;

describe('PublishBudget', () => {
  it('keeps a slot busy until a full window after its release, however callers arrive', async () => {
    const budget = new PublishBudget({ limit: 5, windowMs: 40 });
    const slots: { grantedAt: number; releasedAt: number }[] = [];
    await Promise.all(
      Array.from({ length: 23 }, async () => {
        const release = await budget.take('bulk', live());
        const grantedAt = performance.now();
        // A round trip: the service counts the publish somewhere between the grant and the PUBACK.
        await new Promise((resolve) => setTimeout(resolve, 10));
        slots.push({ grantedAt, releasedAt: performance.now() });
        release();
      }),
    );
    expect(slots).toHaveLength(23);
    slots.sort((a, b) => a.grantedAt - b.grantedAt);
    // The sixth grant after any slot comes a window after its release (less Date.now()'s 1 ms steps).
    for (let i = 0; i + 5 < slots.length; i++) {
      expect(slots[i + 5]!.grantedAt - slots[i]!.releasedAt).toBeGreaterThanOrEqual(38);
    }
  });

  it('serves waiting control publishes before waiting bulk ones, FIFO within each', async () => {
    const budget = new PublishBudget({ limit: 1, windowMs: 20 });
    const order: string[] = [];
    (await budget.take('bulk', live()))();
    const waits = [
      budget.take('bulk', live()).then((release) => {
        order.push('bulk-1');
        release();
      }),
      budget.take('bulk', live()).then((release) => {
        order.push('bulk-2');
        release();
      }),
      budget.take('control', live()).then((release) => {
        order.push('control-1');
        release();
      }),
      budget.take('control', live()).then((release) => {
        order.push('control-2');
        release();
      }),
    ];
    await Promise.all(waits);
    expect(order).toEqual(['control-1', 'control-2', 'bulk-1', 'bulk-2']);
  });

  it('rejects an aborted waiter and gives its slot to the next one', async () => {
    const budget = new PublishBudget({ limit: 1, windowMs: 20 });
    (await budget.take('bulk', live()))();
    const controller = new AbortController();
    const aborted = budget.take('control', controller.signal);
    const next = budget.take('bulk', live());
    controller.abort();
    await expect(aborted).rejects.toThrow();
    (await next)();
  });
});

describe('one publish budget per IoT Core connection', () => {
  let cloud: TestCloud;
  let upstream: AwsUpstream | undefined;

  beforeEach(async () => {
    cloud = await startTestCloud({ shadowLatencyMs: 0 });
  });
  afterEach(async () => {
    await upstream?.close();
    await cloud.close();
  });

  it('counts what IoT Core sends back in the same 100/s: at full telemetry rate with shadows, nothing is discarded', async () => {
    const config = awsConfigFor(cloud);
    upstream = new AwsUpstream({
      config: { ...config, shadows: { ...config.shadows, minIntervalMs: 0 } },
      gatewayId: 'gw-1',
      route: 'aws',
      log: silentLogger(),
      readFile: memoryFiles(await cloud.emulator.mintDevice('gw-1'), cloud.emulator.ca),
    });
    const answered: Promise<void>[] = [];
    // The router's part: every command (request topic or shadow delta) is answered ok at once, so
    // responses and shadow updates compete with telemetry.
    upstream.onCommand((incoming) => {
      if (incoming.kind !== 'command') return;
      answered.push(upstream!.publishResult(incoming.command, { id: incoming.command.id, status: 'ok' }));
    });
    // 30 leaves have a desired change waiting: their shadows answer with deltas, which become commands,
    // whose outcomes go back as shadow updates. Every request is answered on the connection.
    const desiredLeaves = Array.from({ length: 30 }, (_, i) => `sim:thermo-${i}`);
    for (const leaf of desiredLeaves) {
      cloud.emulator.shadows.update('gw-1', leaf, { state: { desired: { state: true } } });
    }
    await upstream.connect(live());
    // 150 devices, one topic each: two batches of 150 telemetry publishes at the budget's full rate, and a
    // named shadow per device (get + update).
    const batch = (from: number): Envelope[] =>
      Array.from({ length: 150 }, (_, i) => ({
        gseq: from + i,
        reading: { device: `sim:thermo-${i}`, ts: 1_700_000_000_000 + from + i, values: { temperature: i } },
      }));
    const sent = (async () => [
      await upstream.send(batch(1), live()),
      await upstream.send(batch(151), live()),
    ])();
    // The cloud app sends 20 commands, at most 10 a second.
    for (let i = 0; i < 20; i++) {
      await cloud.publish(
        `cmd/fieldgate/gw-1/sim:thermo-${i}/req`,
        JSON.stringify({ id: `c${i}`, name: 'ping' }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await sent).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    const reported = (leaf: string) =>
      (cloud.emulator.shadows.document('gw-1', leaf) as { state?: { reported?: { state?: unknown } } })?.state
        ?.reported?.state;
    await waitFor(
      () => desiredLeaves.every((leaf) => reported(leaf) === true),
      'every desired change reported back',
      60_000,
    );
    await waitFor(() => answered.length >= 20 + desiredLeaves.length, 'every command answered', 30_000);
    await Promise.all(answered);
    const responses = cloud.messages.filter((m) => m.topic.endsWith('/res'));
    expect(responses).toHaveLength(20);

    // Nothing IoT Core would have dropped, either way: no PUBACK timeout, no lost shadow answer.
    expect(cloud.emulator.broker.discarded('gw-1')).toEqual({ inbound: 0, outbound: 0 });
    expect(cloud.emulator.broker.peakPublishRate('gw-1')).toBeLessThanOrEqual(100);
    // Every telemetry message arrived once: nothing was sent again after a missing PUBACK.
    expect(cloud.messages.filter((m) => m.topic.startsWith('dt/fieldgate/gw-1/'))).toHaveLength(300);
    const requests = cloud.emulator.shadows.requests();
    expect(requests.filter((r) => r.code !== 200 && r.code !== 404)).toEqual([]);
    expect(upstream.isConnected).toBe(true);
    expect(cloud.emulator.broker.refusals()).toEqual([]);
  });
});
