import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.js';

export const DEFAULT_CONFIG_PATH = '/etc/fieldgate/fieldgate.yaml';
export const DEFAULT_SOCKET_PATH = '/run/fieldgate/control.sock';

export interface SocketOptions {
  socket?: string;
  config?: string;
}

/** The daemon's control socket: `--socket`, else the one the config names, else the default path. */
export async function resolveSocket(options: SocketOptions): Promise<string> {
  if (options.socket !== undefined) return options.socket;
  const file = options.config ?? process.env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_PATH;
  if (options.config !== undefined || existsSync(file)) {
    const { config } = await loadConfig(file);
    return config.control.socket;
  }
  return DEFAULT_SOCKET_PATH;
}

/** Print a value as JSON (for `--json`) on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
