import { describe, expect, it } from 'vitest';
import { configSchema, deviceMatch } from '../../../src/config/schema.js';
import { FieldgateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import type { Reading } from '../../../src/model.js';
import { compileMatch } from '../../../src/pipeline/match.js';
import {
  buildStages,
  Pipeline,
  type PipelineOptions,
  type PipelineRoute,
} from '../../../src/pipeline/pipeline.js';

function route(name: string, rule: Record<string, unknown>): PipelineRoute {
  return { name, match: compileMatch(deviceMatch.parse(rule)) };
}

function stages(pipeline: Record<string, unknown>) {
  return buildStages(configSchema.parse({ pipeline }).pipeline);
}

/** A store per route that records what was delivered, in order. */
function recorder() {
  const delivered = new Map<string, Reading[]>();
  const deliver = (name: string, readings: Reading[]): Promise<void> => {
    delivered.set(name, [...(delivered.get(name) ?? []), ...readings]);
    return Promise.resolve();
  };
  return { delivered, deliver };
}

function makePipeline(overrides: Partial<PipelineOptions> & Pick<PipelineOptions, 'deliver'>): Pipeline {
  return new Pipeline({ stages: [], routes: [route('all', {})], log: silentLogger(), ...overrides });
}

async function until(condition: () => boolean): Promise<void> {
  for (let waitedMs = 0; !condition(); waitedMs += 10) {
    if (waitedMs > 20_000) throw new Error('condition not met within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const r = (device: string, ts: number, values: Reading['values']): Reading => ({ device, ts, values });

describe('Pipeline', () => {
  it('delivers each reading to every route that matches it, projected per route, and counts the rest', async () => {
    const { delivered, deliver } = recorder();
    const pipeline = makePipeline({
      deliver,
      routes: [route('sim', { adapters: ['sim'] }), route('temps', { values: ['temperature'] })],
    });
    await pipeline.push([
      r('sim:a', 1, { temperature: 20, humidity: 40 }),
      r('zigbee:b', 1, { temperature: 21 }),
      r('zigbee:c', 1, { contact: true }),
    ]);
    expect(delivered.get('sim')).toEqual([r('sim:a', 1, { temperature: 20, humidity: 40 })]);
    expect(delivered.get('temps')).toEqual([
      r('sim:a', 1, { temperature: 20 }),
      r('zigbee:b', 1, { temperature: 21 }),
    ]);
    expect(pipeline.stats()).toEqual({ in: 3, out: 3, filtered: 0, unrouted: 1 });
  });

  it('counts readings the filter drops and shows the survivors to onOutput', async () => {
    const { delivered, deliver } = recorder();
    const seen: Reading[] = [];
    const pipeline = makePipeline({
      deliver,
      stages: stages({ filter: { reportOnChange: true } }),
      onOutput: (readings) => seen.push(...readings),
    });
    await pipeline.push([r('sim:a', 1, { contact: true }), r('sim:a', 2, { contact: true })]);
    expect(seen).toEqual([r('sim:a', 1, { contact: true })]);
    expect(delivered.get('all')).toEqual(seen);
    expect(pipeline.stats()).toEqual({ in: 2, out: 1, filtered: 1, unrouted: 0 });
  });

  it('emits closed windows on its tick, and the open ones on stop, then ticks no more', async () => {
    const { delivered, deliver } = recorder();
    let nowMs = 0;
    const pipeline = makePipeline({
      deliver,
      stages: stages({ aggregate: { windowMs: 1000, functions: ['max'] } }),
      flushIntervalMs: 5,
      now: () => nowMs,
    });
    pipeline.start();
    await pipeline.push([r('sim:a', 100, { power: 1 }), r('sim:b', 1100, { power: 2 })]);
    expect(delivered.size).toBe(0);
    nowMs = 1000;
    await until(() => delivered.get('all')?.length === 1);
    expect(delivered.get('all')).toEqual([{ device: 'sim:a', ts: 1000, values: { powerMax: 1 }, units: {} }]);

    await pipeline.stop();
    expect(delivered.get('all')?.[1]).toEqual({
      device: 'sim:b',
      ts: 2000,
      values: { powerMax: 2 },
      units: {},
    });
    expect(pipeline.stats()).toEqual({ in: 2, out: 2, filtered: 0, unrouted: 0 });
  });

  it('still delivers a push after stop, flushing its windows at once', async () => {
    const { delivered, deliver } = recorder();
    const pipeline = makePipeline({ deliver, stages: stages({ aggregate: { windowMs: 1000 } }) });
    await pipeline.stop();
    await pipeline.push([r('sim:a', 100, { power: 1 })]);
    expect(delivered.get('all')).toHaveLength(1);
  });

  it('keeps push order per route even when deliveries complete out of order', async () => {
    const delivered: number[] = [];
    const pending: (() => void)[] = [];
    const pipeline = makePipeline({
      deliver: (_route, readings) => {
        delivered.push(...readings.map((x) => x.ts));
        return new Promise((resolve) => pending.push(resolve));
      },
    });
    const first = pipeline.push([r('sim:a', 1, { v: 1 })]);
    const second = pipeline.push([r('sim:a', 2, { v: 2 })]);
    pending[1]!();
    pending[0]!();
    await Promise.all([first, second]);
    expect(delivered).toEqual([1, 2]);
  });

  it('gives every route its readings when one route fails, then rejects with that failure', async () => {
    const { delivered, deliver } = recorder();
    const full = new FieldgateError('FG_QUEUE_FULL', 'full');
    const pipeline = makePipeline({
      deliver: (name, readings) => (name === 'broken' ? Promise.reject(full) : deliver(name, readings)),
      routes: [route('broken', {}), route('fine', {})],
    });
    await expect(pipeline.push([r('sim:a', 1, { v: 1 })])).rejects.toBe(full);
    expect(delivered.get('fine')).toHaveLength(1);
  });

  it('builds no aggregate stage when windowMs is 0', () => {
    expect(stages({}).map((s) => s.name)).toEqual(['devices', 'filter', 'debounce']);
    expect(stages({ aggregate: { windowMs: 10 } }).map((s) => s.name)).toEqual([
      'devices',
      'filter',
      'debounce',
      'aggregate',
    ]);
  });
});
