import type { AdapterStatus } from '../../../src/adapter-host.js';
import type { StatusSnapshot } from '../../../src/health/status.js';

/** A healthy status snapshot with these adapters and nothing else. */
export function statusWith(adapters: AdapterStatus[]): StatusSnapshot {
  return {
    gateway: 'gw-1',
    version: '0.1.0',
    uptimeS: 60,
    healthy: true,
    problems: [],
    adapters,
    routes: [],
    storage: { bytes: 0, quarantine: null, writes: { state: 'ok' } },
    devices: { online: 0, offline: 0, asleep: 0, unknown: 0 },
    commands: null,
    pipeline: null,
    reload: null,
    restartRequired: [],
  };
}

/** A Z-Wave adapter that dropped 4 malformed frames. */
export const droppingRadio: AdapterStatus = {
  name: 'zwave',
  type: 'zwave',
  state: 'running',
  since: 0,
  readings: 12,
  droppedFrames: { invalidFrame: 3, invalidPayload: 1, unhandled: 0 },
};
/** An adapter without a radio: no `droppedFrames`. */
export const quietSim: AdapterStatus = { name: 'sim', type: 'sim', state: 'running', since: 0, readings: 40 };
