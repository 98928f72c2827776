import type { Command } from 'commander';
import type { ProvisioningEntry } from '../../adapters/adapter.js';
import { controlRequest } from '../control/client.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';
import { formatTable, printJson } from './output.js';

type Options = ReadOptions & { adapter: string };

const base = (adapter: string) => `/v1/adapters/${encodeURIComponent(adapter)}/provisioning`;

/**
 * `fieldgate provision add|list|remove --adapter A`: the Z-Wave SmartStart list. A device added from the QR
 * code or DSK on its label joins by itself, securely, when it is powered up in range; no pairing window.
 */
export function registerProvision(program: Command): void {
  const provision = program
    .command('provision')
    .description('Z-Wave SmartStart: devices that join by themselves when powered up (add, list, remove)');

  daemonOptions(provision.command('list', { isDefault: true }).description('the SmartStart list'))
    .requiredOption('--adapter <name>', 'the Z-Wave adapter')
    .action(async (options: Options) => {
      const { entries } = await controlRequest<{ entries: ProvisioningEntry[] }>(
        await resolveSocket(options),
        'GET',
        base(options.adapter),
      );
      if (options.json === true) return printJson(entries);
      process.stdout.write(`${renderProvisioning(entries)}\n`);
    });

  daemonOptions(
    provision
      .command('add')
      .description('add a device from the digits under its QR code (90…) or its DSK (12345-…-12345)'),
  )
    .argument('<code>', 'SmartStart QR code digits or DSK')
    .requiredOption('--adapter <name>', 'the Z-Wave adapter')
    .action(async (code: string, options: Options) => {
      const entry = await controlRequest<ProvisioningEntry>(
        await resolveSocket(options),
        'POST',
        base(options.adapter),
        { code },
      );
      if (options.json === true) return printJson(entry);
      process.stdout.write(
        `${entry.dsk} added (${entry.securityClasses.join(', ')}); power the device up in range and it joins\n`,
      );
    });

  daemonOptions(provision.command('remove').description('take a device off the SmartStart list'))
    .argument('<dsk>', 'the DSK as `provision list` shows it')
    .requiredOption('--adapter <name>', 'the Z-Wave adapter')
    .action(async (dsk: string, options: Options) => {
      const result = await controlRequest<{ removed: string }>(
        await resolveSocket(options),
        'DELETE',
        `${base(options.adapter)}/${encodeURIComponent(dsk)}`,
      );
      if (options.json === true) return printJson(result);
      process.stdout.write(`removed ${result.removed}\n`);
    });
}

export function renderProvisioning(entries: readonly ProvisioningEntry[]): string {
  if (entries.length === 0) return 'the SmartStart list is empty';
  return formatTable(
    ['DSK', 'STATUS', 'SECURITY', 'DEVICE', 'PRODUCT'],
    entries.map((e) => [e.dsk, e.status, e.securityClasses.join(','), e.device ?? '-', e.product ?? '']),
  );
}
