import { execFile } from 'node:child_process';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

/** How notifications reach systemd: the `systemd-notify` command, or not at all (outside systemd). */
export type NotifyTransport = 'cli' | 'none';

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

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** The `systemd-notify` binary. */
  cliPath?: string;
}

/**
 * Node has no unix datagram sockets, and the native modules that add them ship no prebuilds (a compiler on
 * every Pi), so messages go through the `systemd-notify` command, spawned per message (a few a minute). The
 * datagram comes from the child's PID, so the unit needs `NotifyAccess=all` (docs/operations.md#sd_notify).
 */
export function createNotifier(options: NotifierOptions): Promise<Notifier> {
  const env = options.env ?? process.env;
  const socketPath = env.NOTIFY_SOCKET;
  if (socketPath === undefined || socketPath === '')
    return Promise.resolve({ transport: 'none', notify: () => Promise.resolve() });
  return Promise.resolve(cliNotifier(options.cliPath ?? 'systemd-notify', env, options.log));
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
