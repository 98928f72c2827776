import { fstatSync } from 'node:fs';
import type { prettyFactory } from 'pino-pretty';
import type { LineFormatter } from './logger.js';

/** How log lines are written: pino JSON, a line for a person at a terminal, or lines for journald. */
export type LogFormat = 'json' | 'pretty' | 'journal';
/** The `log.format` setting: a format, or `auto` to choose one from where stdout goes. */
export type LogFormatSetting = LogFormat | 'auto';
export const LOG_FORMAT_SETTINGS = ['auto', 'json', 'pretty', 'journal'] as const;

/**
 * `auto`: a terminal gets `pretty`; stdout connected to the journal gets `journal`; anything else (a pipe,
 * a file, a container's log driver) gets `json`. "Connected to the journal" is what systemd.exec(5) says
 * to test: `$JOURNAL_STREAM` holds the `device:inode` of the stream systemd gave the service, and it must
 * still be our stdout (a child of a service whose output is redirected inherits the variable).
 */
export function resolveLogFormat(
  setting: LogFormatSetting,
  env: NodeJS.ProcessEnv = process.env,
  stdout: { isTTY?: boolean; fd?: number } = process.stdout,
): LogFormat {
  if (setting !== 'auto') return setting;
  if (stdout.isTTY === true) return 'pretty';
  if (isJournalStream(env.JOURNAL_STREAM, stdout.fd ?? 1)) return 'journal';
  return 'json';
}

function isJournalStream(journalStream: string | undefined, fd: number): boolean {
  if (journalStream === undefined) return false;
  const [device, inode] = journalStream.split(':');
  if (device === undefined || inode === undefined) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev.toString() === device && stat.ino.toString() === inode;
  } catch {
    return false;
  }
}

/**
 * The formatter for `format` (undefined: pino's JSON as it is). pino-pretty is loaded only for `pretty`,
 * and used as a plain function in the logging call (its `prettyFactory`), not as a transport: no worker
 * thread, nothing to flush on SIGTERM beyond stdout itself.
 */
export async function lineFormatter(
  format: LogFormat,
  options: { isColor?: boolean } = {},
): Promise<LineFormatter | undefined> {
  switch (format) {
    case 'json':
      return undefined;
    case 'journal':
      return journalLine;
    case 'pretty': {
      const pinoPretty = await import('pino-pretty');
      return prettyLineFormatter(pinoPretty.prettyFactory, options.isColor ?? false);
    }
  }
}

type PrettyFactory = typeof prettyFactory;

/** `[2026-12-06 14:02:11.042] INFO: forwarder: Upstream connected. route=local` (plus a stack for errors). */
export function prettyLineFormatter(factory: PrettyFactory, isColor: boolean): LineFormatter {
  const pretty = factory({
    colorize: isColor,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    hideObject: true,
    messageFormat: (log) => {
      const fields = parseFields(log);
      const stack = fields.level >= ERROR_LEVEL ? stackOf(fields.rest) : undefined;
      const line = describe(fields);
      return stack === undefined ? line : `${line}\n${indent(stack)}`;
    },
  });
  return (line) => {
    const out = pretty(line);
    // pino-pretty returns '' for a line it cannot parse; never lose a line for that.
    return out === '' ? line : out;
  };
}

/**
 * A line for journald with the priority prefix of sd-daemon(3) (`<6>` info, `<4>` warning, `<3>` error):
 * no time (the journal stamps each entry) and no level word (the priority carries it). journald makes
 * each line its own entry, so an error's stack follows as lines with the same prefix.
 */
export function journalLine(jsonLine: string): string {
  let log: Record<string, unknown>;
  try {
    log = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const fields = parseFields(log);
  const prefix = `<${journalPriority(fields.level)}>`;
  const lines = [describe(fields)];
  const stack = fields.level >= ERROR_LEVEL ? stackOf(fields.rest) : undefined;
  if (stack !== undefined) lines.push(...stack.split('\n').map((l) => `  ${l.trim()}`));
  return lines.map((l) => `${prefix}${l}\n`).join('');
}

const ERROR_LEVEL = 50;

/** pino's numeric level → syslog priority: trace/debug 7, info 6, warn 4, error 3, fatal 2. */
export function journalPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= ERROR_LEVEL) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/** Fields every line carries that a person reading it does not need, or that are shown elsewhere. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'component']);

interface Fields {
  level: number;
  component: string | undefined;
  msg: string;
  rest: [string, unknown][];
}

function parseFields(log: Record<string, unknown>): Fields {
  return {
    level: typeof log.level === 'number' ? log.level : 30,
    component: typeof log.component === 'string' ? log.component : undefined,
    msg: typeof log.msg === 'string' ? log.msg : '',
    rest: Object.entries(log).filter(([key]) => !HIDDEN.has(key)),
  };
}

/** `component: message key=value …` */
function describe({ component, msg, rest }: Fields): string {
  const head = component === undefined ? msg : `${component}: ${msg}`;
  const pairs = rest.map(([key, value]) => `${key}=${formatValue(key, value)}`);
  return [head, ...pairs].filter((part) => part !== '').join(' ');
}

// A value written bare when it cannot be mistaken for two fields or a quoted one.
const BARE = /^[^\s"'=\\]+$/;

function formatValue(key: string, value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (isErrorLike(key, value)) return JSON.stringify(errorText(value));
  // JSON.stringify gives undefined for what JSON cannot hold (pino drops those fields anyway).
  return JSON.stringify(value) ?? '';
}

/** An error as pino's serializer writes it: `{type, message, stack, code?}`. */
interface ErrorLike {
  message: string;
  code?: unknown;
  stack?: unknown;
}

function isErrorLike(key: string, value: unknown): value is ErrorLike {
  return (
    (key === 'err' || key === 'error') &&
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

function errorText(err: ErrorLike): string {
  return typeof err.code === 'string' ? `${err.code}: ${err.message}` : err.message;
}

/** The stack of the line's error, without its first line (the message, already shown). */
function stackOf(rest: readonly [string, unknown][]): string | undefined {
  for (const [key, value] of rest) {
    if (!isErrorLike(key, value) || typeof value.stack !== 'string') continue;
    const frames = value.stack.split('\n').filter((l) => /^\s*at /.test(l));
    return frames.length > 0 ? frames.map((l) => l.trim()).join('\n') : undefined;
  }
  return undefined;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
