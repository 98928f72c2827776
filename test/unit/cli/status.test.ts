import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/cli/status.js';
import type { RouteStatus } from '../../../src/health/status.js';
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

describe('billed units in `fieldgate status`', () => {
  it('shows a metered route’s units today and since start, with its operations', () => {
    const route: RouteStatus = {
      name: 'cloud',
      forwarder: {
        route: 'cloud',
        state: 'idle',
        sentMessages: 3,
        sentReadings: 30,
        failures: 0,
        rejected: 0,
      },
      queue: {
        depth: 0,
        bytes: 0,
        inFlight: 0,
        oldestAgeMs: 0,
        dropped: { quota: 0, diskFull: 0, ttl: 0, rejected: 0, writeFailed: 0 },
        deadLetters: 0,
        appended: 30,
        acked: 30,
        nextSeq: 31,
      },
      drainEtaS: 0,
    };
    const status = { ...statusWith([quietSim]), routes: [route] };
    const billing = {
      billedUnits: 340,
      day: '2024-10-04',
      billedUnitsToday: 12,
      operations: { d2c: 300, c2d: 2, twinRead: 0, method: 7 },
    };
    const metered = { ...status, routes: [{ ...route, forwarder: { ...route.forwarder, billing } }] };
    expect(renderStatus(metered, 0)).toContain(
      '    billed 12 units today (2024-10-04 UTC), 340 since start: d2c 300, c2d 2, method 7\n',
    );
    expect(renderStatus(status, 0)).not.toContain('billed');
  });
});
