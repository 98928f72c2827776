import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import { controlRequest, controlStream } from '../../control/client.js';
import { FieldgateError, errorMessage } from '../../errors.js';
import type { StatusSnapshot } from '../../health/status.js';
import type { DeviceInfo, Reading } from '../../model.js';
import { daemonOptions, resolveSocket, type SocketOptions } from '../common.js';
import { useColor } from '../output.js';
import { isDroppedNotice } from '../tail.js';
import { renderFrame, type Screen } from './render.js';
import { TopWatch } from './watch.js';

const REFRESH_MS = 1000;
/** How long to wait before opening the live tail again after it broke (the daemon restarting). */
const TAIL_RETRY_MS = 2000;

const ENTER_SCREEN = '\u001b[?1049h\u001b[?25l';
const LEAVE_SCREEN = '\u001b[?25h\u001b[?1049l';
const HOME = '\u001b[H';
const CLEAR_LINE_END = '\u001b[K';
const CLEAR_BELOW = '\u001b[J';

const KEY_SCREENS: Record<string, Screen> = { o: 'overview', d: 'devices', t: 'tail', '\u001b': 'overview' };

/**
 * `fieldgate top`: a full-screen live view over the control socket, refreshed every second: routes (link,
 * delivered readings/s, backlog sparkline and drain ETA, billed units), adapters, the busiest and the most
 * recently silent devices; `d` a device list, `t` the live tail, `q` or Ctrl-C quits. Plain ANSI, no
 * terminal library: it fits 80×24 over SSH and honours `NO_COLOR`.
 */
export function registerTop(program: Command): void {
  daemonOptions(program.command('top').description('live full-screen view of routes, adapters and devices'), {
    json: false,
  })
    .option('--once', 'print one frame and exit (no terminal needed)')
    .action(async (options: SocketOptions & { once?: boolean }) => {
      const socket = await resolveSocket(options);
      if (options.once === true) return printOnce(socket);
      if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
        throw new FieldgateError(
          'FG_USAGE',
          'fieldgate top needs a terminal; use `fieldgate top --once` or `fieldgate status` in scripts',
        );
      }
      await runInteractive(socket);
    });
}

async function poll(socket: string, watch: TopWatch): Promise<void> {
  try {
    const [status, { devices }] = await Promise.all([
      controlRequest<StatusSnapshot>(socket, 'GET', '/v1/status'),
      controlRequest<{ devices: DeviceInfo[] }>(socket, 'GET', '/v1/devices'),
    ]);
    watch.observe(status, devices, Date.now());
  } catch (e) {
    watch.lost(errorMessage(e));
  }
}

function frameOptions(): { color: boolean; unicode: boolean } {
  const locale = process.env.LC_ALL ?? process.env.LC_CTYPE ?? process.env.LANG ?? '';
  return { color: useColor(process.stdout), unicode: /utf-?8/i.test(locale) };
}

async function printOnce(socket: string): Promise<void> {
  const watch = new TopWatch();
  const status = await controlRequest<StatusSnapshot>(socket, 'GET', '/v1/status');
  const { devices } = await controlRequest<{ devices: DeviceInfo[] }>(socket, 'GET', '/v1/devices');
  watch.observe(status, devices, Date.now());
  const lines = renderFrame(watch.view(Date.now()), 'overview', {
    columns: process.stdout.columns ?? 80,
    rows: process.stdout.rows ?? 24,
    ...frameOptions(),
  });
  // The key line means nothing without a terminal.
  process.stdout.write(`${lines.slice(0, -1).join('\n')}\n`);
}

/** Keeps a live tail open for the busiest-devices ranking and the tail screen, reopening it when it breaks. */
async function followTail(socket: string, watch: TopWatch, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await controlStream(socket, 'GET', '/v1/tail', {
        signal,
        onEvent: (event) => {
          if (isDroppedNotice(event)) watch.tailDropped(event.count);
          else watch.heard(event as Reading, Date.now());
        },
      });
    } catch {
      // The poll reports an unreachable daemon; the tail only waits to try again.
    }
    await pause(TAIL_RETRY_MS, signal);
  }
}

/** Waits `ms`, or less when `signal` aborts (never rejects). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}

async function runInteractive(socket: string): Promise<void> {
  const watch = new TopWatch();
  const stop = new AbortController();
  let screen: Screen = 'overview';
  const out = process.stdout;
  const draw = () => {
    const lines = renderFrame(watch.view(Date.now()), screen, {
      columns: out.columns,
      rows: out.rows,
      ...frameOptions(),
    });
    out.write(HOME + lines.map((line) => line + CLEAR_LINE_END).join('\r\n') + CLEAR_BELOW);
  };
  const restore = () => {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    out.write(LEAVE_SCREEN);
  };
  // Whatever ends the process, the terminal gets its screen and cursor back.
  process.once('exit', restore);
  const quit = () => stop.abort();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.once(signal, quit);

  out.write(ENTER_SCREEN);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  const onKey = (data: Buffer) => {
    const key = data.toString('utf8');
    if (key === 'q' || key === 'Q' || key === '\u0003' || key === '\u0004') stop.abort();
    const next = KEY_SCREENS[key.toLowerCase()];
    if (next !== undefined) {
      screen = next;
      draw();
    }
  };
  process.stdin.on('data', onKey);
  out.on('resize', draw);

  const tailing = followTail(socket, watch, stop.signal);
  try {
    while (!stop.signal.aborted) {
      await poll(socket, watch);
      if (stop.signal.aborted) break;
      draw();
      await pause(REFRESH_MS, stop.signal);
    }
  } finally {
    process.stdin.off('data', onKey);
    out.off('resize', draw);
    process.stdin.pause();
    await tailing;
    restore();
    process.off('exit', restore);
    for (const signal of signals) process.off(signal, quit);
  }
}
