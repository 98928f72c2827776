import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/logger.js';
import type { Reading } from '../../../src/model.js';
import { FilterStage } from '../../../src/pipeline/filter.js';
import { Pipeline, buildStages } from '../../../src/pipeline/pipeline.js';

/**
 * Two defects a user saw with the global filter and no `devices:` section at all: repeated button presses
 * dropped by report-on-change, and `consumption: 0.30000000000000004` delivered as is. Only APIs the
 * pipeline had before `devices:` existed, so the tests run against the old code too.
 */
const pipelineConfig = (pipeline: Record<string, unknown>) => configSchema.parse({ pipeline }).pipeline;

/** What the pipeline delivers for `readings`, through every stage the config asks for. */
async function delivered(pipeline: Record<string, unknown>, readings: Reading[]): Promise<Reading[]> {
  const out: Reading[] = [];
  const run = new Pipeline({
    stages: buildStages(pipelineConfig(pipeline)),
    routes: [{ name: 'all', match: (r) => r }],
    deliver: (_route, batch) => {
      out.push(...batch);
      return Promise.resolve();
    },
    now: () => 10_000,
    log: silentLogger(),
  });
  for (const reading of readings) await run.push([reading]);
  await run.stop();
  return out;
}

describe('button presses under a global report-on-change filter', () => {
  const press = (ts: number, action: string): Reading => ({
    device: 'zigbee:0x0017880104b5c6d7',
    ts,
    values: { action, battery: 87 },
  });

  it('forwards every press, also the same action twice in a row, and still holds the unchanged battery', () => {
    const stage = new FilterStage(pipelineConfig({ filter: { reportOnChange: true } }).filter);
    const out = [
      press(1000, 'single'),
      press(2000, 'single'),
      press(3000, 'double'),
      press(4000, 'single'),
    ].flatMap((reading) => stage.process([reading], reading.ts));
    expect(out.map((r) => r.values.action)).toEqual(['single', 'single', 'double', 'single']);
    expect(out.filter((r) => 'battery' in r.values)).toHaveLength(1);
  });

  it('forwards a repeated press within minIntervalMs and past a deadband on its other values', () => {
    const stage = new FilterStage(
      pipelineConfig({ filter: { minIntervalMs: 60_000, deadband: { battery: 5 } } }).filter,
    );
    const out = [press(1000, 'single'), press(1500, 'single')].flatMap((r) => stage.process([r], r.ts));
    expect(out.map((r) => r.values)).toEqual([{ action: 'single', battery: 87 }, { action: 'single' }]);
  });
});

describe('floating-point noise', () => {
  it('is gone from delivered values: 0.1 + 0.2 is delivered as 0.3, integers and text untouched', async () => {
    const out = await delivered({}, [
      {
        device: 'zwave:e3b1c2d4-7',
        ts: 1,
        values: { consumption: 0.1 + 0.2, power: 1.2 * 3, counter: 2 ** 53 - 1, state: 'ON' },
      },
    ]);
    expect(out.map((r) => r.values)).toEqual([
      { consumption: 0.3, power: 3.6, counter: 2 ** 53 - 1, state: 'ON' },
    ]);
  });

  it('does not hold back a step of exactly the deadband (0.3 - 0.2 is 0.09999999999999998)', async () => {
    const reading = (ts: number, consumption: number): Reading => ({
      device: 'zwave:e3b1c2d4-7',
      ts,
      values: { consumption },
    });
    const out = await delivered({ filter: { deadband: { consumption: 0.1 } } }, [
      reading(1, 0.2),
      reading(2, 0.3),
    ]);
    expect(out.map((r) => r.values.consumption)).toEqual([0.2, 0.3]);
  });
});
