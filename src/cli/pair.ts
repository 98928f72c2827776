import type { Command } from 'commander';
import { controlStream } from '../control/client.js';
import { FieldgateError } from '../errors.js';
import type { DeviceInfo } from '../model.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';
import { formatDuration } from './output.js';

type PairEvent =
  | { event: 'open'; adapter: string; seconds: number; until: number }
  | { event: 'joined' | 'updated' | 'left'; device: DeviceInfo }
  | { event: 'closed' };

/**
 * `fieldgate pair --adapter A --time SECONDS`: opens the pairing window and shows each device as it joins
 * and as its interview fills in its model. Events go to stdout (JSON lines with `--json`); the countdown
 * goes to stderr, on a TTY only. Ctrl-C closes the window early.
 */
export function registerPair(program: Command): void {
  daemonOptions(program.command('pair').description('open the pairing window and watch devices join'))
    .requiredOption('--adapter <name>', 'adapter that pairs (zigbee, zwave, sim)')
    .option('--time <seconds>', 'how long the window stays open (1–254)', '60')
    .option('--pin <digits>', 'Z-Wave S2: the 5-digit PIN printed on the device (first block of its DSK)')
    .option('--dsk <dsk>', 'Z-Wave S2: the full DSK printed on the device')
    .action(async (options: ReadOptions & { adapter: string; time: string; pin?: string; dsk?: string }) => {
      const seconds = Number(options.time);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 254)
        throw new FieldgateError('FG_USAGE', `--time must be an integer from 1 to 254, got: ${options.time}`);
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      let countdown: NodeJS.Timeout | undefined;
      let joined = 0;
      let isOpen = false;
      try {
        await controlStream(await resolveSocket(options), 'POST', '/v1/pair', {
          body: {
            adapter: options.adapter,
            seconds,
            ...(options.pin === undefined ? {} : { pin: options.pin }),
            ...(options.dsk === undefined ? {} : { dsk: options.dsk }),
          },
          signal: stop.signal,
          onEvent: (raw) => {
            const event = raw as PairEvent;
            if (event.event === 'joined') joined += 1;
            if (event.event === 'open') isOpen = true;
            if (event.event === 'open' && process.stderr.isTTY)
              countdown = setInterval(() => {
                const left = Math.max(0, (event.until - Date.now()) / 1000);
                process.stderr.write(`\r\u001b[Kpairing window open: ${formatDuration(left)} left`);
              }, 1000);
            if (options.json === true) process.stdout.write(`${JSON.stringify(event)}\n`);
            else {
              if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
              process.stdout.write(`${renderPairEvent(event)}\n`);
            }
          },
        });
      } finally {
        clearInterval(countdown);
      }
      // A daemon that ends the stream without saying the window opened did not open it: never report success.
      if (!isOpen && !stop.signal.aborted)
        throw new FieldgateError(
          'FG_ADAPTER_UNAVAILABLE',
          `the daemon did not open the pairing window on ${options.adapter} (the stream ended without "open"); ` +
            'see `fieldgate status` for the adapter',
        );
      if (options.json !== true) process.stdout.write(`${joined} device(s) joined\n`);
    });
}

export function renderPairEvent(event: PairEvent): string {
  switch (event.event) {
    case 'open':
      return `pairing window open on ${event.adapter} for ${formatDuration(event.seconds)}; put devices in pairing mode`;
    case 'joined':
      return `+ ${event.device.id} joined; interviewing…`;
    case 'updated':
      return event.device.model === undefined
        ? `  ${event.device.id} is ${event.device.availability}`
        : `✓ ${event.device.id} interviewed: ${event.device.manufacturer ?? ''} ${event.device.model}`.replace(
            '  ',
            ' ',
          );
    case 'left':
      return `- ${event.device.id} left`;
    case 'closed':
      return 'pairing window closed';
  }
}
