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

/**
 * Turns one pino JSON line (newline included) into what is written instead: a line for a person or for
 * journald (`src/log-format.ts`). It receives the line after secrets are scrubbed, so every format is.
 */
export type LineFormatter = (jsonLine: string) => string;

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
    /** Rewrites each line after scrubbing (pretty, journal); without one, lines are pino JSON. */
    format?: LineFormatter | undefined;
    /** Also receives each scrubbed JSON line (the status page's live log); must not throw or block. */
    tap?: ((jsonLine: string) => void) | undefined;
  } = {},
): Logger {
  const level = options.level ?? 'info';
  const destination: Destination = options.destination ?? pino.destination({ fd: 1, sync: false });
  const { redactor, format, tap } = options;
  return pino(
    {
      level,
      base: { service: 'fieldgate' },
      redact: { paths: redactPaths(options.secretFieldNames ?? []), censor: CENSORED },
      onChild: withoutDuplicateBindings,
    },
    redactor === undefined && format === undefined && tap === undefined
      ? destination
      : rewriting(destination, redactor, format, tap),
  );
}

function rewriting(
  inner: Destination,
  redactor: LineScrubber | undefined,
  format: LineFormatter | undefined,
  tap?: (jsonLine: string) => void,
): Destination {
  const scrubOnly = (line: string) => (redactor === undefined ? line : redactor.scrubJsonLine(line));
  const scrub =
    tap === undefined
      ? scrubOnly
      : (line: string) => {
          const scrubbed = scrubOnly(line);
          tap(scrubbed);
          return scrubbed;
        };
  const rewrite = format === undefined ? scrub : (line: string) => format(scrub(line));
  return {
    write: (line) => inner.write(rewrite(line)),
    flush: (callback) => (inner.flush === undefined ? callback?.() : inner.flush(callback)),
    flushSync: () => inner.flushSync?.(),
  };
}

/**
 * pino appends a child's bindings to its parent's, so a child that binds a key its parent bound (a
 * connector's `component` under the forwarder's, `zwave-js` under the adapter's) would write the key twice
 * — JSON whose meaning depends on the reader. Keep each key once, the innermost value winning.
 */
function withoutDuplicateBindings(child: Logger): void {
  const chindings = (child as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym];
  if (typeof chindings !== 'string') return;
  const bindings = JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>;
  const keyCount = (chindings.match(/(?:^|,)"(?:[^"\\]|\\.)*":/g) ?? []).length;
  if (keyCount === Object.keys(bindings).length) return;
  (child as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym] = '';
  child.setBindings(bindings);
}

/** A logger that writes nothing: for unit tests and CLI verbs that must keep stdout clean. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
