import { once } from 'node:events';
import type { Command } from 'commander';
import { controlStream } from '../control/client.js';
import type { Reading } from '../model.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';

/**
 * `fieldgate tail [--device GLOB] [--json]`: live readings as they leave the pipeline, until Ctrl-C. Readings the
 * daemon dropped because this client fell behind are announced on stderr; stdout carries readings only.
 */
export function registerTail(program: Command): void {
  daemonOptions(program.command('tail').description('live readings as they pass the pipeline (Ctrl-C stops)'))
    .option('--device <glob>', 'only devices matching this glob, e.g. "zigbee:*"')
    .action(async (options: ReadOptions & { device?: string }) => {
      const query = options.device === undefined ? '' : `?device=${encodeURIComponent(options.device)}`;
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await controlStream(await resolveSocket(options), 'GET', `/v1/tail${query}`, {
        signal: stop.signal,
        onEvent: async (event) => {
          if (isDroppedNotice(event)) {
            process.stderr.write(
              `fieldgate tail: ${event.count} readings were not shown: this terminal or pipe read too slowly.\n`,
            );
            return;
          }
          const reading = event as Reading;
          const line = options.json === true ? `${JSON.stringify(reading)}\n` : `${renderReading(reading)}\n`;
          // A full pipe (`| less` scrolled back) holds the stream here, not in this process's memory.
          if (!process.stdout.write(line)) await once(process.stdout, 'drain', { signal: stop.signal });
        },
      });
    });
}

/** The daemon's line after readings were dropped for this client (readings never carry `event`). */
export function isDroppedNotice(event: unknown): event is { event: 'dropped'; count: number } {
  return (
    typeof event === 'object' &&
    event !== null &&
    (event as { event?: unknown }).event === 'dropped' &&
    typeof (event as { count?: unknown }).count === 'number'
  );
}

/** `12:00:01.250  sim:climate-01  temperature=21.4°C humidity=40%`; `sim:climate-01 (living room)` when named. */
export function renderReading(reading: Reading): string {
  const time = new Date(reading.ts).toISOString().slice(11, 23);
  const values = Object.entries(reading.values)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}${reading.units?.[name] ?? ''}`)
    .join(' ');
  const device = reading.name === undefined ? reading.device : `${reading.device} (${reading.name})`;
  return `${time}  ${device}  ${values}`;
}
