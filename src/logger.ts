import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

/** The logger type every component receives. Child loggers carry a fixed `component` field. */
export type Logger = PinoLogger;

/**
 * Paths redacted wherever they appear in a log object, so a key, token or connection string is never
 * written to the journal (STYLE.md, Logging).
 */
const REDACT_PATHS = [
  '*.password',
  '*.key',
  '*.sharedAccessKey',
  '*.connectionString',
  '*.token',
  '*.sasToken',
  '*.networkKey',
  'password',
  'key',
  'token',
  'connectionString',
];

export function createLogger(
  options: { level?: LevelWithSilent; destination?: NodeJS.WritableStream } = {},
): Logger {
  const level = options.level ?? 'info';
  return pino(
    { level, base: { service: 'fieldgate' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that writes nothing: for unit tests and CLI verbs that must keep stdout clean. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
