import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/cli/status.js';
import { droppingRadio, quietSim, statusWith } from '../health/status-fixture.js';

describe('dropped radio frames in `fieldgate status`', () => {
  it('shows the dropped frames of an adapter by reason, and nothing for one that dropped none', () => {
    const text = renderStatus(
      statusWith([droppingRadio, { ...droppingRadio, name: 'quiet', droppedFrames: {} }, quietSim]),
      0,
    );

    expect(text).toContain(
      '  zwave (zwave)  running  12 readings, 4 frames dropped (3 invalidFrame, 1 invalidPayload)',
    );
    expect(text).toContain('  quiet (zwave)  running  12 readings\n');
    expect(text).toContain('  sim (sim)  running  40 readings\n');
  });
});
