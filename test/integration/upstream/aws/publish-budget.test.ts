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

  it('keeps telemetry, shadow updates and command responses together within 100 publishes/s', async () => {
    const config = awsConfigFor(cloud);
    upstream = new AwsUpstream({
      config: { ...config, shadows: { ...config.shadows, minIntervalMs: 0 } },
      gatewayId: 'gw-1',
      route: 'aws',
      log: silentLogger(),
      readFile: memoryFiles(await cloud.emulator.mintDevice('gw-1'), cloud.emulator.ca),
    });
    const answered: Promise<void>[] = [];
    // The router's part: every command is answered at once, so responses compete with telemetry.
    upstream.onCommand((incoming) => {
      if (incoming.kind !== 'command') return;
      answered.push(upstream!.publishResult(incoming.command, { id: incoming.command.id, status: 'ok' }));
    });
    await upstream.connect(live());
    // 150 devices, one topic each: 150 telemetry publishes, and a named shadow per device (get + update).
    const batch: Envelope[] = Array.from({ length: 150 }, (_, i) => ({
      gseq: i + 1,
      reading: { device: `sim:thermo-${i}`, ts: 1_700_000_000_000 + i, values: { temperature: 20 + i } },
    }));
    const sent = upstream.send(batch, live());
    for (let i = 0; i < 60; i++) {
      await cloud.publish(
        `cmd/fieldgate/gw-1/sim:thermo-${i}/req`,
        JSON.stringify({ id: `c${i}`, name: 'ping' }),
      );
    }
    const r = await sent;
    console.log(
      'DBG',
      r.kind,
      cloud.emulator.broker.peakPublishRate('gw-1'),
      JSON.stringify(cloud.emulator.broker.refusals()),
      upstream.stats(),
      upstream.isConnected,
    );
    expect(r).toEqual({ kind: 'ok' });
    await waitFor(() => answered.length === 60, 'all 60 commands', 30_000);
    await Promise.all(answered);
    const responses = new Set(cloud.messages.filter((m) => m.topic.endsWith('/res')).map((m) => m.topic));
    expect(responses.size).toBe(60);
    await waitFor(
      () => cloud.emulator.shadows.requests().filter((r) => r.operation === 'update').length >= 20,
      'shadow updates alongside telemetry',
      30_000,
    );

    expect(cloud.emulator.broker.peakPublishRate('gw-1')).toBeLessThanOrEqual(100);
    expect(upstream.isConnected).toBe(true);
    expect(upstream.stats().takeovers).toBe(0);
    expect(cloud.emulator.broker.refusals()).toEqual([]);
  });
});
