import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { planReload } from '../../../src/ops/reload-plan.js';

const base = {
  adapters: { zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: '/dev/ttyUSB0' } },
  routes: { local: { upstream: { type: 'mqtt', url: 'mqtt://127.0.0.1:1883' } } },
};
const parse = (extra: Record<string, unknown> = {}) => configSchema.parse({ ...base, ...extra });

describe('planReload', () => {
  it('applies a changed filter and needs no restart for it', () => {
    const next = parse({ pipeline: { filter: { deadband: { temperature: 0.5 } } } });
    expect(planReload(parse(), next)).toEqual({ apply: ['pipeline.filter'], restartRequired: [] });
  });

  it('reports a changed radio port by its key, without applying it', () => {
    const next = parse({
      adapters: { zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: '/dev/ttyACM0' } },
    });
    expect(planReload(parse(), next)).toEqual({ apply: [], restartRequired: ['adapters.zigbee.serialPort'] });
  });

  it('reports added routes and changed lists as one change each', () => {
    const next = parse({
      routes: { ...base.routes, backup: { upstream: { type: 'mqtt', url: 'mqtt://10.0.0.2:1883' } } },
      pipeline: { aggregate: { functions: ['max'] } },
    });
    expect(planReload(parse(), next).restartRequired).toEqual([
      'pipeline.aggregate.functions',
      'routes.backup',
    ]);
  });

  it('finds nothing to do for an identical file', () => {
    expect(planReload(parse(), parse())).toEqual({ apply: [], restartRequired: [] });
  });
});
