import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

/** The logger type every component receives. Child loggers carry a fixed `component` field. */
export type Logger = PinoLogger;

/** What a censored field or scrubbed value is replaced with (the same as `REDACTED` in config/redact.ts). */
const CENSORED = '[redacted]';

/**
 * Fields censored wherever they appear at the top of a log object or one level down: the credentials
 * fieldgate derives at run time, plus the names the caller passes (the daemon passes every key the config
 * schema marks secret: `password`, `networkKey`, `bindkey`, …). By name only where the name means a
 * secret: a field called `key` is a config key's name ("Restart required: queue.maxBytes changed") and is
 * logged as it is.
 */
const RUNTIME_SECRET_FIELDS = ['sasToken', 'token'];

function redactPaths(secretFieldNames: readonly string[]): string[] {
  const names = [...new Set([...secretFieldNames, ...RUNTIME_SECRET_FIELDS])];
  return names.flatMap((name) => [name, `*.${name}`]);
}

/**
 * Scrubs secret values from a serialized log line (the config's `Redactor`). Declared here, not imported,
 * so the logger — which the adapters use — depends on no config module.
 */
export interface LineScrubber {
  scrubJsonLine(line: string): string;
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
    redactor?: LineScrubber;
    /** Field names censored by name (besides the run-time credentials), e.g. the config's secret keys. */
    secretFieldNames?: readonly string[];
  } = {},
): Logger {
  const level = options.level ?? 'info';
  const destination: Destination = options.destination ?? pino.destination({ fd: 1, sync: false });
  const redactor = options.redactor;
  return pino(
    {
      level,
      base: { service: 'fieldgate' },
      redact: { paths: redactPaths(options.secretFieldNames ?? []), censor: CENSORED },
    },
    redactor === undefined ? destination : scrubbing(destination, redactor),
  );
}

function scrubbing(inner: Destination, redactor: LineScrubber): Destination {
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
