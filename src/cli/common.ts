import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';

export const DEFAULT_CONFIG_PATH = '/etc/fieldgate/fieldgate.yaml';
export const DEFAULT_SOCKET_PATH = '/run/fieldgate/control.sock';

export interface SocketOptions {
  socket?: string;
  config?: string;
}

export interface ReadOptions extends SocketOptions {
  json?: boolean;
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

/** Adds the options every verb that talks to the daemon takes: how to find it, and `--json`. */
export function daemonOptions(cmd: Command, options: { json?: boolean } = { json: true }): Command {
  cmd
    .option('--socket <path>', 'control socket of the daemon')
    .option('-c, --config <file>', 'configuration file (to find the socket)');
  if (options.json === true) cmd.option('--json', 'machine-readable output (stable field names)');
  return cmd;
}

export { printJson } from './output.js';
