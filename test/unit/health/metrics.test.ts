import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../../src/health/metrics.js';
import { droppingRadio, quietSim, statusWith } from './status-fixture.js';

describe('GatewayMetrics', () => {
  it('exposes dropped radio frames as fieldgate_adapter_frames_dropped_total{adapter,reason}', async () => {
    const metrics = new GatewayMetrics(
      () => statusWith([droppingRadio, quietSim]),
      () => undefined,
    );
    const text = await metrics.render();

    expect(text).toContain('fieldgate_adapter_frames_dropped_total{adapter="zwave",reason="invalidFrame"} 3');
    expect(text).toContain(
      'fieldgate_adapter_frames_dropped_total{adapter="zwave",reason="invalidPayload"} 1',
    );
    expect(text).not.toContain('adapter="sim",reason');
  });
});
