import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import type { Reading } from '../../../src/model.js';
import { FilterStage, type FilterConfig } from '../../../src/pipeline/filter.js';
import { loadStageCases } from './load-cases.js';

function filterConfig(filter: Record<string, unknown>): FilterConfig {
  return configSchema.parse({ pipeline: { filter } }).pipeline.filter;
}

describe('FilterStage', () => {
  it.each(loadStageCases('filter-cases.yaml'))('$name', ({ config, steps }) => {
    const stage = new FilterStage(filterConfig(config));
    for (const step of steps) {
      expect(stage.process(step.in ?? [], step.now), `at now=${step.now}`).toEqual(step.out);
    }
  });

  it('does not mutate its input', () => {
    const stage = new FilterStage(filterConfig({ exclude: { values: ['battery'] } }));
    const input: Reading[] = [{ device: 'sim:a', ts: 1, values: { temperature: 20, battery: 90 } }];
    const copy = structuredClone(input);
    stage.process(input, 1);
    expect(input).toEqual(copy);
  });

  const reading = (device: string, ts: number): Reading => ({ device, ts, values: { contact: true } });

  it('forgets a device not seen for forgetAfterMs, then forwards its value as new', () => {
    const stage = new FilterStage(filterConfig({ reportOnChange: true }), {
      maxDevices: 100,
      forgetAfterMs: 10_000,
    });
    expect(stage.process([reading('sim:a', 0), reading('sim:b', 0)], 0)).toHaveLength(2);
    expect(stage.process([reading('sim:b', 9_000)], 9_000)).toEqual([]);
    expect(stage.process([reading('sim:b', 10_000)], 10_000)).toEqual([]);
    expect(stage.trackedDevices()).toBe(1);
    expect(stage.process([reading('sim:a', 11_000)], 11_000)).toEqual([reading('sim:a', 11_000)]);
  });

  it('keeps at most maxDevices, forgetting the least recently seen', () => {
    const stage = new FilterStage(filterConfig({ reportOnChange: true }), {
      maxDevices: 2,
      forgetAfterMs: 3_600_000,
    });
    stage.process([reading('sim:a', 0), reading('sim:b', 0)], 0);
    stage.process([reading('sim:a', 1)], 1);
    stage.process([reading('sim:c', 2)], 2);
    expect(stage.trackedDevices()).toBe(2);
    // a and c are remembered (unchanged → held back); b was forgotten (forwarded as new).
    expect(stage.process([reading('sim:a', 3), reading('sim:c', 3)], 3)).toEqual([]);
    expect(stage.process([reading('sim:b', 4)], 4)).toEqual([reading('sim:b', 4)]);
  });

  it('keeps no state when no option needs it', () => {
    const stage = new FilterStage(filterConfig({ include: { adapters: ['sim'] } }));
    stage.process([reading('sim:a', 0)], 0);
    expect(stage.trackedDevices()).toBe(0);
  });
});
