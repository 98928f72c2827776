import type { Command } from 'commander';
import type { HeldCommand } from '../commands/router.js';
import { controlRequest } from '../control/client.js';
import { FieldgateError } from '../errors.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';
import { formatDuration, formatTable, printJson } from './output.js';

interface FilterOptions {
  device?: string;
  route?: string;
  id?: string;
}

type PurgeOptions = ReadOptions & FilterOptions & { all?: boolean; yes?: boolean };

function withFilters(cmd: Command): Command {
  return cmd
    .option('--device <glob>', 'only devices matching this glob, e.g. "zwave:*"')
    .option('--route <name>', 'only commands that came on this route')
    .option('--id <id>', 'only the command with this id');
}

function query(options: FilterOptions): string {
  const params = new URLSearchParams();
  for (const name of ['device', 'route', 'id'] as const) {
    const value = options[name];
    if (value !== undefined) params.set(name, value);
  }
  return params.size === 0 ? '' : `?${params.toString()}`;
}

async function listHeld(options: ReadOptions & FilterOptions): Promise<HeldCommand[]> {
  const { commands } = await controlRequest<{ commands: HeldCommand[] }>(
    await resolveSocket(options),
    'GET',
    `/v1/commands${query(options)}`,
  );
  return commands;
}

/** `fieldgate commands list|purge`: the commands held for devices that are asleep or out of reach. */
export function registerCommands(program: Command): void {
  const commands = program
    .command('commands')
    .description('commands held for sleeping or unreachable devices: list, purge');

  daemonOptions(
    withFilters(commands.command('list', { isDefault: true }).description('held commands, oldest first')),
  ).action(async (options: ReadOptions & FilterOptions) => {
    const held = await listHeld(options);
    if (options.json === true) return printJson(held);
    process.stdout.write(`${renderHeld(held, Date.now())}\n`);
  });

  daemonOptions(
    withFilters(
      commands
        .command('purge')
        .description('answer held commands "rejected: purged by operator" on their route and drop them'),
    ),
  )
    .option('--all', 'every held command')
    .option('--yes', 'really purge (without it, only shows what would be purged)')
    .action(async (options: PurgeOptions) => {
      const isSelected = [options.device, options.route, options.id].some((v) => v !== undefined);
      if (!isSelected && options.all !== true)
        throw new FieldgateError('FG_USAGE', 'say what to purge: --device, --route, --id, or --all');
      if (options.yes !== true) {
        const held = (await listHeld(options)).filter((c) => !c.isExecuting);
        if (options.json !== true) process.stdout.write(`${renderHeld(held, Date.now())}\n`);
        else printJson(held);
        throw new FieldgateError(
          'FG_USAGE',
          `nothing purged: add --yes to purge ${held.length} held command${held.length === 1 ? '' : 's'}`,
        );
      }
      const body = { ...pickFilters(options), ...(options.all === true ? { all: true } : {}) };
      const result = await controlRequest<{ purged: HeldCommand[]; executing: number }>(
        await resolveSocket(options),
        'POST',
        '/v1/commands/purge',
        body,
      );
      if (options.json === true) return printJson(result);
      const executing = result.executing > 0 ? `; ${result.executing} executing now, left to finish` : '';
      process.stdout.write(
        `purged ${result.purged.length} held commands, each answered "rejected: purged by operator"${executing}\n`,
      );
    });
}

function pickFilters(options: FilterOptions): FilterOptions {
  const picked: FilterOptions = {};
  if (options.device !== undefined) picked.device = options.device;
  if (options.route !== undefined) picked.route = options.route;
  if (options.id !== undefined) picked.id = options.id;
  return picked;
}

export function renderHeld(held: readonly HeldCommand[], now: number): string {
  const rows = held.map((c) => [
    c.device,
    c.id,
    c.name,
    c.route ?? `(${c.origin})`,
    c.receivedAt === undefined ? '-' : formatDuration((now - c.receivedAt) / 1000),
    c.expiresAt <= now ? 'now' : `in ${formatDuration((c.expiresAt - now) / 1000)}`,
    c.isExecuting ? 'executing' : 'held',
  ]);
  return formatTable(['DEVICE', 'ID', 'NAME', 'ROUTE', 'AGE', 'EXPIRES', 'STATE'], rows);
}
