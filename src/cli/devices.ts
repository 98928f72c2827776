import { realpath } from 'node:fs/promises';
import nodePath from 'node:path';
import type { Command } from 'commander';
import { controlRequest } from '../control/client.js';
import type { CurrentValue } from '../devices/device-registry.js';
import type { DeviceInfo } from '../model.js';
import { writeDeviceName } from '../devices/config-names.js';
import { FieldgateError } from '../errors.js';
import type { ReloadStatus } from '../health/status.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';
import { formatDuration, formatTable, printJson } from './output.js';

const path = (id: string) => `/v1/devices/${encodeURIComponent(id)}`;

/**
 * `fieldgate devices [--adapter A]`, `devices show ID`, `devices rename ID NAME`, `devices interview ID`,
 * `devices remove ID`.
 */
export function registerDevices(program: Command): void {
  const devices = program.command('devices').description('list, show, rename and remove devices');
  daemonOptions(
    devices.command('list', { isDefault: true }).description('devices the adapters know (default)'),
  )
    .option('--adapter <name>', 'only this adapter')
    .option('--discovered', 'devices the adapter hears but does not forward (BLE discovery), with --adapter')
    .action(async (options: ReadOptions & { adapter?: string; discovered?: boolean }) => {
      const params = new URLSearchParams();
      if (options.adapter !== undefined) params.set('adapter', options.adapter);
      if (options.discovered === true) params.set('discovered', '1');
      const query = params.size === 0 ? '' : `?${params.toString()}`;
      const { devices: list } = await controlRequest<{ devices: DeviceInfo[] }>(
        await resolveSocket(options),
        'GET',
        `/v1/devices${query}`,
      );
      if (options.json === true) return printJson(list);
      const render = options.discovered === true ? renderDiscovered : renderDevices;
      process.stdout.write(`${render(list, Date.now())}\n`);
    });

  daemonOptions(devices.command('show').description('everything known about one device'))
    .argument('<id>', 'device id or name, e.g. sim:climate-01')
    .action(async (id: string, options: ReadOptions) => {
      const info = await controlRequest<DeviceInfo & { current?: Record<string, CurrentValue> }>(
        await resolveSocket(options),
        'GET',
        path(id),
      );
      if (options.json === true) return printJson(info);
      const rows = Object.entries({
        ...info,
        capabilities: undefined,
        current: undefined,
        values: info.capabilities.values.join(', '),
        commands: info.capabilities.commands.map((c) => c.name).join(', '),
        lastSeen: info.lastSeen === 0 ? 'never' : new Date(info.lastSeen).toISOString(),
      })
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => [k, String(v)]);
      process.stdout.write(`${formatTable(['field', 'value'], rows)}\n`);
      process.stdout.write(`\n${renderCurrentValues(info.current ?? {}, Date.now())}\n`);
    });

  daemonOptions(
    devices
      .command('rename')
      .description('give a device a name: written to devices: in the config file, then applied'),
  )
    .argument('<id>', 'device id (or its current name)')
    .argument('<name>', 'new name')
    .action(async (id: string, name: string, options: ReadOptions) => {
      const socket = await resolveSocket(options);
      const info = await controlRequest<DeviceInfo>(socket, 'GET', path(id));
      const file = await configFileOf(socket, options.config);
      const written = await writeDeviceName(file, info.id, name.trim());
      // Applied the way SIGHUP applies a changed file; said only once the daemon answered.
      const reload = await controlRequest<ReloadStatus>(socket, 'POST', '/v1/reload');
      if (reload.error !== undefined)
        throw new FieldgateError(
          'FG_CONFIG_INVALID',
          `${written.file} now names ${info.id} "${name.trim()}", but the daemon's reload failed: ${reload.error}`,
        );
      const result = { id: info.id, name: name.trim(), file: written.file, applied: reload.applied };
      if (options.json === true) printJson(result);
      else process.stdout.write(`${info.id} is now "${result.name}" (written to ${written.file}, applied)\n`);
    });

  daemonOptions(
    devices
      .command('interview')
      .description('interview a device again and re-identify it (Zigbee; wake a sleepy one first)'),
  )
    .argument('<id>', 'device id or name')
    .action(async (id: string, options: ReadOptions) => {
      const info = await controlRequest<DeviceInfo>(
        await resolveSocket(options),
        'POST',
        `${path(id)}/interview`,
      );
      if (options.json === true) printJson(info);
      else
        process.stdout.write(
          `${info.id} interviewed: ${[info.manufacturer, info.model].filter(Boolean).join(' ') || 'no definition'}\n`,
        );
    });

  daemonOptions(
    devices.command('remove').description('forget a device (and make it leave, where the radio can)'),
  )
    .argument('<id>', 'device id or name')
    .action(async (id: string, options: ReadOptions) => {
      const result = await controlRequest<{ removed: string }>(
        await resolveSocket(options),
        'DELETE',
        path(id),
      );
      if (options.json === true) printJson(result);
      else process.stdout.write(`removed ${result.removed}\n`);
    });
}

/**
 * The file `devices rename` edits: the one the daemon runs from. `--config` must name that same file (an
 * edit elsewhere would never apply).
 * @throws FieldgateError `FG_USAGE` when `--config` names another file, or the daemon runs from none.
 */
async function configFileOf(socket: string, given: string | undefined): Promise<string> {
  const { file } = await controlRequest<{ file: string | null }>(socket, 'GET', '/v1/config');
  if (file === null) {
    if (given !== undefined) return given;
    throw new FieldgateError(
      'FG_USAGE',
      'the daemon runs without a config file; there is no devices: to write',
    );
  }
  if (given !== undefined && (await realPath(given)) !== (await realPath(file)))
    throw new FieldgateError(
      'FG_USAGE',
      `the daemon runs from ${file}, not ${given}; rename writes the daemon's file`,
    );
  return file;
}

async function realPath(file: string): Promise<string> {
  return realpath(file).catch(() => nodePath.resolve(file));
}

export function renderDevices(list: readonly DeviceInfo[], now: number): string {
  const rows = list.map((d) => [
    d.id,
    d.name ?? '',
    d.insecure === undefined ? d.availability : `${d.availability}, INSECURE`,
    d.power,
    d.model ?? '',
    d.lastSeen === 0 ? 'never' : `${formatDuration((now - d.lastSeen) / 1000)} ago`,
  ]);
  return formatTable(['ID', 'NAME', 'AVAILABILITY', 'POWER', 'MODEL', 'LAST SEEN'], rows);
}

/**
 * `devices --discovered`: what a radio hears, with the family it recognised (`unknown` when none), the
 * signal strength and whether the device's readings are forwarded. Radios that do not say leave it blank.
 */
export function renderDiscovered(
  list: readonly (DeviceInfo & { family?: string; rssi?: number; isForwarded?: boolean })[],
  now: number,
): string {
  const rows = list.map((d) => [
    d.id,
    d.family ?? '',
    d.model ?? '',
    d.rssi === undefined ? '' : `${d.rssi} dBm`,
    d.isForwarded === undefined ? '' : d.isForwarded ? 'yes' : 'no',
    d.name ?? '',
    d.lastSeen === 0 ? 'never' : `${formatDuration((now - d.lastSeen) / 1000)} ago`,
  ]);
  return formatTable(['ID', 'FAMILY', 'MODEL', 'RSSI', 'FORWARDED', 'NAME', 'LAST SEEN'], rows);
}

/** The last reading of each value: `temperature  21.5 °C  3s ago`, or a note when none arrived yet. */
export function renderCurrentValues(current: Record<string, CurrentValue>, now: number): string {
  const entries = Object.entries(current);
  if (entries.length === 0) return 'no readings since the daemon started';
  const rows = entries.map(([name, v]) => [
    name,
    `${JSON.stringify(v.value)}${v.unit === undefined ? '' : ` ${v.unit}`}`,
    `${formatDuration((now - v.ts) / 1000)} ago`,
  ]);
  return formatTable(['VALUE', 'CURRENT', 'SINCE'], rows);
}
