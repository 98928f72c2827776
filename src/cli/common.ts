import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { FieldgateError, errorMessage } from '../errors.js';

export const DEFAULT_CONFIG_PATH = '/etc/fieldgate/fieldgate.yaml';
export const DEFAULT_SOCKET_PATH = '/run/fieldgate/control.sock';

export interface SocketOptions {
  socket?: string;
  config?: string;
}

export interface ReadOptions extends SocketOptions {
  json?: boolean;
}

/**
 * The daemon's control socket: `--socket`, else `control.socket` of the config file (`--config`, else
 * `FIELDGATE_CONFIG`, else the default path), else the default socket. Only that one key is read, tolerantly:
 * a typo elsewhere in the file, or a secret this user cannot read, must not stop `status` from asking a
 * healthy daemon (`fieldgate config validate` is the verb that judges the whole file).
 * @throws FieldgateError `FG_CONFIG_NOT_FOUND` when the file named with `--config` cannot be read.
 */
export async function resolveSocket(options: SocketOptions): Promise<string> {
  if (options.socket !== undefined) return options.socket;
  const file = options.config ?? process.env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (options.config === undefined) return DEFAULT_SOCKET_PATH;
    throw new FieldgateError('FG_CONFIG_NOT_FOUND', `cannot read ${file}: ${errorMessage(e)}`, { cause: e });
  }
  const socket = socketIn(text);
  // Relative to the config file's directory, as the daemon resolves it.
  return socket === undefined ? DEFAULT_SOCKET_PATH : path.resolve(path.dirname(path.resolve(file)), socket);
}

/** `control.socket` as written, if the YAML gets that far; anything else in the file is not our business. */
function socketIn(text: string): string | undefined {
  try {
    const value: unknown = parseDocument(text, { prettyErrors: false }).getIn(['control', 'socket']);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
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
