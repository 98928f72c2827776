import type { Command } from 'commander';
import { controlRequest } from '../control/client.js';
import { FieldgateError } from '../errors.js';
import type { CommandResult } from '../model.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';
import { printJson } from './output.js';

/** Without `--wait`: how long to wait for a result before reporting the command as pending. */
const NO_WAIT_REPLY_MS = 10_000;

/** `30s`, `5m`, `1500ms`, or a bare number of seconds. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null)
    throw new FieldgateError('FG_USAGE', `expected a duration such as 30s or 5m, got: ${text}`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(Number(match[1]) * factor);
}

/** `fieldgate send DEVICE COMMAND [JSON-ARGS] [--ttl 30s] [--wait]`. */
export function registerSend(program: Command): void {
  daemonOptions(program.command('send').description('send a command to a device and print its result'))
    .argument('<device>', 'device id or name, e.g. sim:switch-01')
    .argument('<command>', 'command name, e.g. toggle')
    .argument('[args]', 'JSON object of arguments', '{}')
    .option('--ttl <duration>', 'give up when the command has not run within this time', '30s')
    .option('--wait', 'wait for a sleeping device to wake up and run it (up to --ttl)')
    .action(
      async (
        device: string,
        name: string,
        argsText: string,
        options: ReadOptions & { ttl: string; wait?: boolean },
      ) => {
        let args: unknown;
        try {
          args = JSON.parse(argsText);
        } catch {
          throw new FieldgateError('FG_USAGE', `args must be a JSON object, got: ${argsText}`);
        }
        if (typeof args !== 'object' || args === null || Array.isArray(args))
          throw new FieldgateError('FG_USAGE', `args must be a JSON object, got: ${argsText}`);
        const ttlMs = parseDurationMs(options.ttl);
        if (process.stderr.isTTY)
          process.stderr.write(`sending ${name} to ${device} (ttl ${options.ttl})…\n`);
        const result = await controlRequest<CommandResult | { id: string; status: 'pending' }>(
          await resolveSocket(options),
          'POST',
          '/v1/commands',
          { device, name, args, ttlMs, waitMs: options.wait === true ? ttlMs : NO_WAIT_REPLY_MS },
        );
        if (options.json === true) printJson(result);
        else if (result.status === 'pending')
          process.stdout.write(
            `pending: ${device} is asleep; it gets the command when it wakes (id ${result.id})\n`,
          );
        else process.stdout.write(`${renderResult(result)}\n`);
        // Pending is not a failure yet: EX_TEMPFAIL tells a script to check back later.
        if (result.status === 'pending') process.exitCode = 75;
        else if (result.status !== 'ok') process.exitCode = 1;
      },
    );
}

/** `ok`, `failed: timeout`, then the result's data (what a read returned), one `key: value` per line. */
export function renderResult(result: CommandResult): string {
  const head = `${result.status}${result.detail === undefined ? '' : `: ${result.detail}`}`;
  const data = Object.entries(result.data ?? {}).map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`);
  return [head, ...data].join('\n');
}
