import { describe, expect, it } from 'vitest';
import { frameDropReason } from '../../../../adapters/zwave/frame-drops.js';
import { DriverLogBridge } from '../../../../adapters/zwave/driver-log.js';
import { silentLogger } from '../../../../src/logger.js';

// The warnings are zwave-js 15.29's own words (Driver.ts), copied; the daemon and fuzz tests check them live.
describe('frameDropReason', () => {
  it.each([
    ['Dropping message because it contains invalid data', 'invalidFrame'],
    ['Dropping message because it could not be deserialized: unknown CC 0xee', 'undecodable'],
    [
      'Dropping Transport Service datagram because the contained command could not be deserialized: x',
      'undecodable',
    ],
    ['Dropping message with invalid payload (Reason: too short)', 'invalidPayload'],
    ['dropping CC with invalid values (Reason: out of range)', 'invalidPayload'],
    ['Could not assemble partial CCs because the payload is invalid. Dropping them.', 'invalidPayload'],
    ['no handlers registered!', 'unhandled'],
  ])('counts the warning "%s" as %s', (text, reason) => {
    expect(frameDropReason('warn', text)).toBe(reason);
  });

  it('does not count frames dropped for the driver’s state, nor anything below warn', () => {
    expect(
      frameDropReason('warn', 'Dropping message because the driver is not ready to handle it yet.'),
    ).toBe(undefined);
    expect(frameDropReason('warn', 'Dropping message because node 7 does not exist.')).toBe(undefined);
    expect(frameDropReason('debug', 'Dropping message because it contains invalid data')).toBe(undefined);
  });
});

describe('DriverLogBridge', () => {
  it('reports each dropped-frame warning once, with its reason, and logs it as before', () => {
    const reasons: string[] = [];
    const bridge = new DriverLogBridge(silentLogger(), (reason) => reasons.push(reason));
    const write = (entry: Record<string, unknown>) => bridge.log(entry as never, () => undefined);

    write({ level: 'warn', label: 'DRIVER', message: 'Dropping message because it contains invalid data' });
    write({ level: 'info', label: 'DRIVER', message: 'handling request ApplicationCommand (4)' });
    write({
      level: 'warn',
      label: 'CNTRLR',
      primaryTags: '[Node 002]',
      message: 'Dropping message with invalid payload (Reason: short)',
      context: { nodeId: 2 },
    });

    expect(reasons).toEqual(['invalidFrame', 'invalidPayload']);
  });
});
