import { closeSync, fstatSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { journalLine, lineFormatter, resolveLogFormat, type LogFormat } from '../../src/log-format.js';
import { createLogger } from '../../src/logger.js';

/** A logger as the daemon builds it, writing into an array: what a user would see on stdout. */
async function capture(
  format: LogFormat,
): Promise<{ log: ReturnType<typeof createLogger>; lines: string[] }> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination, format: await lineFormatter(format) }), lines };
}

describe('pretty log lines', () => {
  it('read as time, level word, component, message and key=value, not JSON', async () => {
    const { log, lines } = await capture('pretty');
    log.child({ component: 'forwarder', route: 'local' }).info({ downMs: 1200 }, 'Upstream connected.');
    expect(lines).toHaveLength(1);
    expect(() => JSON.parse(lines[0]!) as unknown).toThrow();
    expect(lines[0]).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: forwarder: Upstream connected\. route=local downMs=1200$/,
    );
  });

  it('quote values with spaces, show an error by its code and message, and its stack below', async () => {
    const { log, lines } = await capture('pretty');
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' });
    log.error({ err, reason: 'broker down' }, 'Upstream unavailable.');
    expect(lines[0]).toContain(
      'ERROR: Upstream unavailable. err="ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1883"',
    );
    expect(lines[0]).toContain('reason="broker down"');
    expect(lines[1]).toMatch(/^ +at /);
  });

  it('uses words for every level a user sets', async () => {
    const { log, lines } = await capture('pretty');
    log.debug('d');
    log.warn('w');
    log.fatal('f');
    expect(lines.map((l) => /\] (\w+):/.exec(l)?.[1])).toEqual(['DEBUG', 'WARN', 'FATAL']);
  });
});

describe('journal log lines', () => {
  it('start with the sd-daemon priority prefix and carry no time and no level word', async () => {
    const { log, lines } = await capture('journal');
    const child = log.child({ component: 'pairing' });
    child.debug('d');
    child.info({ adapter: 'zigbee', seconds: 60 }, 'Pairing window open.');
    child.warn('w');
    child.error('e');
    child.fatal('f');
    expect(lines).toEqual([
      '<7>pairing: d',
      '<6>pairing: Pairing window open. adapter=zigbee seconds=60',
      '<4>pairing: w',
      '<3>pairing: e',
      '<2>pairing: f',
    ]);
  });

  it('keep a multi-line value on one journal entry and give a stack the error priority on each line', () => {
    const err = {
      type: 'Error',
      message: 'boom',
      stack: 'Error: boom\n    at a (x.js:1:1)\n    at b (y.js:2:2)',
    };
    const line = JSON.stringify({ level: 50, time: 1, msg: 'Stop failed.', detail: 'two\nlines', err });
    expect(journalLine(`${line}\n`)).toBe(
      '<3>Stop failed. detail="two\\nlines" err="boom"\n<3>  at a (x.js:1:1)\n<3>  at b (y.js:2:2)\n',
    );
  });

  it('pass a line that is not JSON through as it is', () => {
    expect(journalLine('not json\n')).toBe('not json\n');
  });
});

describe('json log lines', () => {
  it('stay pino JSON with numeric levels and epoch-ms time', async () => {
    const { log, lines } = await capture('json');
    log.child({ component: 'forwarder' }).info({ route: 'local' }, 'Upstream connected.');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, component: 'forwarder', route: 'local' });
  });
});

describe('resolveLogFormat', () => {
  const pipe = { isTTY: false, fd: 1 };

  it('keeps an explicit format whatever stdout is', () => {
    expect(resolveLogFormat('json', {}, { isTTY: true })).toBe('json');
    expect(resolveLogFormat('journal', {}, pipe)).toBe('journal');
  });

  it('auto: pretty on a terminal, json on a pipe', () => {
    expect(resolveLogFormat('auto', {}, { isTTY: true })).toBe('pretty');
    expect(resolveLogFormat('auto', {}, pipe)).toBe('json');
  });

  it('auto: journal only when $JOURNAL_STREAM names our stdout (device:inode), json when inherited', () => {
    const file = path.join(tmpdir(), `fieldgate-journal-stream-${process.pid}`);
    const fd = openSync(file, 'w');
    try {
      const stat = fstatSync(fd, { bigint: true });
      const stdout = { isTTY: false, fd };
      expect(resolveLogFormat('auto', { JOURNAL_STREAM: `${stat.dev}:${stat.ino}` }, stdout)).toBe('journal');
      expect(resolveLogFormat('auto', { JOURNAL_STREAM: `${stat.dev}:${stat.ino + 1n}` }, stdout)).toBe(
        'json',
      );
      expect(resolveLogFormat('auto', { JOURNAL_STREAM: 'garbage' }, stdout)).toBe('json');
    } finally {
      closeSync(fd);
      rmSync(file, { force: true });
    }
  });
});

describe('child loggers', () => {
  it('write a key bound by both a parent and its child once, with the child value', async () => {
    const { log, lines } = await capture('json');
    const upstream = log.child({ component: 'aws-upstream', route: 'cloud' });
    upstream.child({ component: 'aws-jobs' }).info('Job started.');
    upstream.info('Connected.');
    expect(lines[0]!.match(/"component":/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'aws-jobs', route: 'cloud' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ component: 'aws-upstream', route: 'cloud' });
  });
});
