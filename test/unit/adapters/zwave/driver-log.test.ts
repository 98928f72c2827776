import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DriverLogBridge, driverLogLevel } from '../../../../adapters/zwave/driver-log.js';
import { createLogger } from '../../../../src/logger.js';

function capturingLogger(level: 'info' | 'debug' | 'trace') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level, destination }), lines };
}

function write(bridge: DriverLogBridge, entry: Record<string, unknown>): void {
  bridge.log(entry as never, () => undefined);
}

describe('DriverLogBridge', () => {
  it('writes zwave-js entries as gateway log lines with the channel and node as fields', () => {
    const { log, lines } = capturingLogger('debug');
    const bridge = new DriverLogBridge(log);

    write(bridge, {
      level: 'info',
      label: 'CNTRLR',
      primaryTags: '[Node 005]',
      message: ['Interviewing Version...', '  more '],
      context: { source: 'controller', nodeId: 5 },
    });
    write(bridge, { level: 'warn', label: 'DRIVER', message: 'No network key for S2 configured' });

    expect(lines).toEqual([
      expect.objectContaining({
        level: 20,
        channel: 'CNTRLR',
        nodeId: 5,
        msg: '[Node 005] Interviewing Version...; more',
      }),
      expect.objectContaining({ level: 40, channel: 'DRIVER', msg: 'No network key for S2 configured' }),
    ]);
  });

  it('keeps zwave-js’s per-node chatter out of an info-level log, but not its warnings', () => {
    const { log, lines } = capturingLogger('info');
    const bridge = new DriverLogBridge(log);
    write(bridge, { level: 'info', label: 'CNTRLR', message: 'querying protocol info...' });
    write(bridge, { level: 'error', label: 'DRIVER', message: 'Failed to send' });
    expect(lines.map((l) => l.msg)).toEqual(['Failed to send']);
  });
});

describe('driverLogLevel', () => {
  it('asks zwave-js for only what the gateway will show', () => {
    expect(driverLogLevel(capturingLogger('info').log)).toBe('warn');
    expect(driverLogLevel(capturingLogger('debug').log)).toBe('debug');
    expect(driverLogLevel(capturingLogger('trace').log)).toBe('silly');
  });
});
