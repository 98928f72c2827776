import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { REDACTED, secretKeyNames, type Redactor } from './config/redact.js';

/** The logger type every component receives. Child loggers carry a fixed `component` field. */
export type Logger = PinoLogger;

/**
 * Fields censored wherever they appear at the top of a log object or one level down: every key the config
 * schema marks secret (`password`, `networkKey`, `bindkey`, …), plus the credentials fieldgate derives at
 * run time. By name only where the name means a secret: a field called `key` is a config key's name
 * ("Restart required: queue.maxBytes changed") and is logged as it is.
 */
const RUNTIME_SECRET_FIELDS = ['sasToken', 'token'];

function redactPaths(): string[] {
  const names = [...new Set([...secretKeyNames(), ...RUNTIME_SECRET_FIELDS])];
  return names.flatMap((name) => [name, `*.${name}`]);
}

/** What the logger writes through: each line has every known secret value scrubbed before it leaves. */
interface Destination {
  write(line: string): unknown;
  flush?(callback?: (error?: Error) => void): void;
  flushSync?(): void;
}

export function createLogger(
  options: {
    level?: LevelWithSilent;
    destination?: NodeJS.WritableStream;
    /** Secret values to scrub from every line, whatever field or message carries them. */
    redactor?: Redactor;
  } = {},
): Logger {
  const level = options.level ?? 'info';
  const destination: Destination = options.destination ?? pino.destination({ fd: 1, sync: false });
  const redactor = options.redactor;
  return pino(
    { level, base: { service: 'fieldgate' }, redact: { paths: redactPaths(), censor: REDACTED } },
    redactor === undefined ? destination : scrubbing(destination, redactor),
  );
}

function scrubbing(inner: Destination, redactor: Redactor): Destination {
  return {
    write: (line) => inner.write(redactor.scrubJsonLine(line)),
    flush: (callback) => (inner.flush === undefined ? callback?.() : inner.flush(callback)),
    flushSync: () => inner.flushSync?.(),
  };
}

/** A logger that writes nothing: for unit tests and CLI verbs that must keep stdout clean. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
