import { execFile } from 'node:child_process';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

/** How notifications reach systemd: a native datagram socket, the `systemd-notify` CLI, or not at all. */
export type NotifyTransport = 'native' | 'cli' | 'none';

/**
 * The daemon's line to systemd (`sd_notify(3)`): READY, RELOADING, STOPPING, STATUS and WATCHDOG messages.
 * Outside systemd (no `NOTIFY_SOCKET`) every call is a no-op, so the daemon runs the same in a terminal.
 * `notify` never throws: a lost notification is logged, and systemd's own timeouts take over.
 */
export interface Notifier {
  readonly transport: NotifyTransport;
  /** Send `KEY=value` assignments as one datagram, e.g. `{ READY: '1', STATUS: 'running' }`. */
  notify(assignments: Record<string, string>): Promise<void>;
}

/** The slice of the optional `unix-dgram` module we use (it ships no types). */
interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket & { on(event: 'error', cb: (e: Error) => void): void };
}

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** Loads the native module; injected so tests can force the CLI fallback. Default: `import('unix-dgram')`. */
  loadNative?: () => Promise<UnixDgramModule>;
  /** The `systemd-notify` binary for the fallback. */
  cliPath?: string;
}

// A variable, so TypeScript does not try to resolve an optional dependency that is usually absent.
const NATIVE_MODULE = 'unix-dgram';

/**
 * Picks the transport once, at start. `unix-dgram` (an optional dependency with no prebuilds, so usually not
 * installed on a Pi) sends from our own PID and works with `NotifyAccess=main`; it cannot reach an abstract
 * (`@…`) socket. Otherwise the `systemd-notify` CLI is spawned per message, which needs `NotifyAccess=all`
 * because the datagram comes from the child's PID (docs/operations.md#sd_notify).
 */
export async function createNotifier(options: NotifierOptions): Promise<Notifier> {
  const env = options.env ?? process.env;
  const socketPath = env.NOTIFY_SOCKET;
  if (socketPath === undefined || socketPath === '')
    return { transport: 'none', notify: () => Promise.resolve() };
  const log = options.log;
  if (!socketPath.startsWith('@')) {
    try {
      const loadNative = options.loadNative ?? (async () => (await import(NATIVE_MODULE)) as UnixDgramModule);
      return nativeNotifier(await loadNative(), socketPath, log);
    } catch (e) {
      log.warn(
        { err: errorMessage(e) },
        'The native sd_notify module (unix-dgram) is not available; using the systemd-notify command instead ' +
          '(the unit needs NotifyAccess=all).',
      );
    }
  }
  return cliNotifier(options.cliPath ?? 'systemd-notify', env, log);
}

function nativeNotifier(module: UnixDgramModule, socketPath: string, log: Logger): Notifier {
  const socket = module.createSocket('unix_dgram');
  socket.on('error', (e) => log.warn({ err: errorMessage(e) }, 'sd_notify failed.'));
  return {
    transport: 'native',
    notify: (assignments) =>
      new Promise((resolve) => {
        const message = Buffer.from(formatAssignments(assignments));
        socket.send(message, 0, message.length, socketPath, (err) => {
          if (err !== undefined) log.warn({ err: errorMessage(err) }, 'sd_notify failed.');
          resolve();
        });
      }),
  };
}

function cliNotifier(cliPath: string, env: NodeJS.ProcessEnv, log: Logger): Notifier {
  return {
    transport: 'cli',
    notify: (assignments) =>
      new Promise((resolve) => {
        const args = Object.entries(assignments).map(([key, value]) => `${key}=${value}`);
        // No --no-block: the BARRIER handshake makes systemd attribute the message before the child exits.
        execFile(cliPath, args, { env, timeout: 10_000 }, (err, _stdout, stderr) => {
          if (err !== null)
            log.warn({ err: errorMessage(err), stderr: stderr.trim() }, 'systemd-notify failed.');
          resolve();
        });
      }),
  };
}

/** One datagram: newline-separated assignments; values must not contain newlines. */
export function formatAssignments(assignments: Record<string, string>): string {
  return Object.entries(assignments)
    .map(([key, value]) => `${key}=${value.replace(/\n/g, ' ')}`)
    .join('\n');
}
