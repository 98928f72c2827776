import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { bridgeLibraryLogger } from '../../../../adapters/zigbee/library-logger.js';

function recordingLog(): { log: pino.Logger; lines: { level: number; msg: string; ns?: string }[] } {
  const lines: { level: number; msg: string; ns?: string }[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string; ns?: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

const ERROR = 50;
const WARN = 40;

describe('bridgeLibraryLogger', () => {
  it('passes herdsman errors and warnings through with their namespace while the coordinator is open', () => {
    const { log, lines } = recordingLog();
    const bridge = bridgeLibraryLogger(log, () => false);
    bridge.error('Failed to init port', 'zh:ember:uart:ash');
    bridge.warning(() => 'slow response', 'zh:controller');
    expect(lines).toMatchObject([
      { level: ERROR, msg: 'Failed to init port', ns: 'zh:ember:uart:ash' },
      { level: WARN, msg: 'slow response', ns: 'zh:controller' },
    ]);
  });

  it('keeps a failing reopen loop out of the error log: the adapter reports that episode itself', () => {
    const { log, lines } = recordingLog();
    let reopening = true;
    const bridge = bridgeLibraryLogger(log, () => reopening);
    for (let attempt = 0; attempt < 5; attempt++) bridge.error('Failed to init port', 'zh:ember:uart:ash');
    expect(lines).toEqual([]);

    reopening = false;
    bridge.error('Failed to init port', 'zh:ember:uart:ash');
    expect(lines).toHaveLength(1);
  });

  it('does not build lazy debug and info messages unless debug is enabled', () => {
    const { log } = recordingLog();
    const bridge = bridgeLibraryLogger(log);
    let built = 0;
    bridge.debug(() => `frame ${++built}`, 'zh:ember:ezsp');
    bridge.info(() => `interview ${++built}`, 'zh:controller');
    expect(built).toBe(0);
  });
});
