import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { isFieldgateError } from '../../../src/errors.js';
import { AggregateStage, type AggregateConfig } from '../../../src/pipeline/aggregate.js';
import { loadStageCases } from './load-cases.js';

function aggregateConfig(aggregate: Record<string, unknown>): AggregateConfig {
  return configSchema.parse({ pipeline: { aggregate } }).pipeline.aggregate;
}

describe('AggregateStage', () => {
  it.each(loadStageCases('aggregate-cases.yaml'))('$name', ({ config, steps }) => {
    const stage = new AggregateStage(aggregateConfig(config));
    for (const step of steps) {
      const out =
        step.flush === undefined
          ? stage.process(step.in ?? [], step.now)
          : stage.flush(step.now, step.flush === 'final');
      expect(out, `at now=${step.now}`).toEqual(step.out);
    }
  });

  it('refuses windowMs 0, which means the stage is not built', () => {
    let error: unknown;
    try {
      new AggregateStage(aggregateConfig({ windowMs: 0 }));
    } catch (e) {
      error = e;
    }
    expect(isFieldgateError(error, 'FG_INTERNAL')).toBe(true);
  });
});
