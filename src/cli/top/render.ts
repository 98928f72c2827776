import { formatBytes, formatDuration, paint, type Tone } from '../output.js';
import { renderReading } from '../tail.js';
import { busiest, recentlySilent, type DeviceActivity, type RouteView, type TopView } from './watch.js';

export type Screen = 'overview' | 'devices' | 'tail';

export interface FrameOptions {
  columns: number;
  rows: number;
  color: boolean;
  /** Block characters for sparklines; plain ASCII where the terminal's locale is not UTF-8. */
  unicode: boolean;
}

interface Segment {
  text: string;
  tone?: Tone | undefined;
}
type Line = Segment[];

const KEYS = 'o overview  d devices  t tail  q quit';
const SPARK_UNICODE = '▁▂▃▄▅▆▇█';
const SPARK_ASCII = '_.:-=+*#';

/**
 * One frame of `fieldgate top`: at most `rows` lines, none wider than `columns`, colour only when asked. The
 * last line names the keys. Pure, so the terminal test and the unit tests see the same text.
 */
export function renderFrame(view: TopView, screen: Screen, options: FrameOptions): string[] {
  const header = headerLines(view, options);
  const body =
    screen === 'overview'
      ? overview(view, options, options.rows - header.length - 1)
      : screen === 'devices'
        ? deviceTable(view, options.rows - header.length - 1)
        : tail(view, options.rows - header.length - 1);
  const footer: Line = [{ text: `${KEYS}   [${screen}]`, tone: 'dim' }];
  const lines = [...header, ...body].slice(0, Math.max(0, options.rows - 1));
  return [...lines, footer].map((line) => paintLine(line, options.columns, options.color));
}

/** `▁▂▃▅▇`: values scaled to the largest one; the newest on the right. */
export function sparkline(values: readonly number[], width: number, unicode: boolean): string {
  const chars = unicode ? SPARK_UNICODE : SPARK_ASCII;
  const shown = values.slice(-Math.max(0, width));
  const max = Math.max(0, ...shown);
  return shown
    .map((v) => chars[max === 0 || v <= 0 ? 0 : Math.max(1, Math.ceil((v / max) * (chars.length - 1)))])
    .join('');
}

function headerLines(view: TopView, options: FrameOptions): Line[] {
  const clock = new Date(view.now).toISOString().slice(11, 19);
  const status = view.status;
  if (status === undefined) {
    return [
      [{ text: `fieldgate top · ${clock}` }],
      [{ text: `waiting for the daemon: ${view.unreachable ?? 'connecting'}`, tone: 'warn' }],
    ];
  }
  const left = `fieldgate ${status.version} · gateway ${status.gateway} · up ${formatDuration(status.uptimeS)} · `;
  const health: Segment = status.healthy
    ? { text: 'healthy', tone: 'ok' }
    : { text: 'NOT healthy', tone: 'bad' };
  const pad = Math.max(1, options.columns - left.length - health.text.length - clock.length);
  const lines: Line[] = [[{ text: left }, health, { text: ' '.repeat(pad) + clock }]];
  if (view.unreachable !== undefined) {
    lines.push([{ text: `‼ the daemon stopped answering: ${view.unreachable} (retrying)`, tone: 'bad' }]);
  }
  for (const problem of status.problems.slice(0, 3)) lines.push([{ text: `‼ ${problem}`, tone: 'warn' }]);
  if (status.problems.length > 3) {
    lines.push([{ text: `‼ ${status.problems.length - 3} more: fieldgate status`, tone: 'warn' }]);
  }
  lines.push([]);
  return lines;
}

function overview(view: TopView, options: FrameOptions, rows: number): Line[] {
  const lines: Line[] = [[{ text: 'ROUTES', tone: 'dim' }]];
  if (view.routes.length === 0) lines.push([{ text: '  none configured' }]);
  for (const route of view.routes) lines.push(...routeLines(route, view.now, options));
  lines.push([{ text: 'ADAPTERS', tone: 'dim' }]);
  if (view.adapters.length === 0) lines.push([{ text: '  none configured' }]);
  for (const a of view.adapters) {
    const tone: Tone = a.state === 'running' ? 'ok' : a.state === 'starting' ? 'warn' : 'bad';
    lines.push([
      { text: `  ${a.name} (${a.type})  ` },
      { text: a.state, tone },
      { text: `  ${a.online}/${a.total} online  ${a.droppedFrames} frames dropped` },
      ...(a.detail === undefined ? [] : [{ text: ` — ${a.detail}`, tone: 'dim' as const }]),
    ]);
  }
  const room = Math.min(5, rows - lines.length - 2);
  if (room > 0) lines.push([], ...activity(view, options.columns, room));
  return lines;
}

function routeLines(route: RouteView, now: number, options: FrameOptions): Line[] {
  const since = route.since === undefined ? '' : ` for ${formatDuration((now - route.since) / 1000)}`;
  const link: Segment = route.connected
    ? { text: `connected${since}`, tone: 'ok' }
    : { text: `${route.state}${since}`, tone: 'bad' };
  const rate =
    route.deliveredPerS === undefined ? '–' : route.deliveredPerS.toFixed(route.deliveredPerS < 10 ? 1 : 0);
  const billed =
    route.billedToday === undefined ? '' : `  ${route.billedToday.toLocaleString('en')} billed units today`;
  const reason: Line[] =
    route.connected || route.lastError === undefined
      ? []
      : [[{ text: `    ‼ ${route.lastError}`, tone: 'bad' }]];
  const eta =
    route.drainEtaS === null
      ? 'not draining'
      : route.drainEtaS === 0
        ? 'empty'
        : `drains in ~${formatDuration(route.drainEtaS)}`;
  const label = `    backlog ${route.backlog.toLocaleString('en')} (${formatBytes(route.backlogBytes)})  `;
  const peak = Math.max(0, ...route.backlogHistory);
  const tail = `${peak > 0 ? ` peak ${peak.toLocaleString('en')}` : ''}  ${eta}  · dead letters ${route.deadLetters}`;
  const width = Math.max(8, Math.min(60, options.columns - label.length - tail.length));
  return [
    [{ text: `  ${route.name}  ` }, link, { text: `  ${rate} readings/s delivered${billed}` }],
    [
      { text: label },
      {
        text: sparkline(route.backlogHistory, width, options.unicode),
        tone: route.backlog > 0 ? 'warn' : 'ok',
      },
      { text: tail },
    ],
    ...reason,
  ];
}

/** Busiest and most recently silent devices, side by side when the terminal is wide enough. */
function activity(view: TopView, columns: number, rows: number): Line[] {
  const busy = busiest(view.devices, rows).map((d) => `  ${label(d)}  ${d.perMinute}/min`);
  const silent = recentlySilent(view.devices, view.now, rows).map(
    (d) =>
      `  ${label(d)}  silent ${formatDuration((view.now - d.lastSeen) / 1000)}${d.availability === 'offline' ? ' (offline)' : ''}`,
  );
  const busyTitle = 'BUSIEST · last minute';
  const silentTitle = 'RECENTLY SILENT';
  const emptyBusy = busy.length === 0 ? ['  none heard yet'] : busy;
  const emptySilent = silent.length === 0 ? ['  none'] : silent;
  if (columns < 70) {
    const stacked: Line[] = [
      [{ text: busyTitle, tone: 'dim' }],
      ...emptyBusy.map((text) => [{ text }]),
      [{ text: silentTitle, tone: 'dim' }],
      ...emptySilent.map((text) => [{ text }]),
    ];
    return stacked.slice(0, rows + 1);
  }
  const half = Math.floor(columns / 2);
  const left = [busyTitle, ...emptyBusy];
  const right = [silentTitle, ...emptySilent];
  const lines: Line[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const l = fit(left[i] ?? '', half - 1).padEnd(half);
    lines.push([
      { text: l, tone: i === 0 ? 'dim' : undefined },
      { text: right[i] ?? '', tone: i === 0 ? 'dim' : undefined },
    ]);
  }
  return lines;
}

function deviceTable(view: TopView, rows: number): Line[] {
  const devices = [...view.devices].sort((a, b) => a.id.localeCompare(b.id));
  const header = ['DEVICE', 'NAME', 'STATE', 'LAST SEEN', '/MIN'];
  const cells = devices.map((d) => [
    d.id,
    d.name ?? '',
    d.availability,
    d.lastSeen === 0 ? 'never' : `${formatDuration((view.now - d.lastSeen) / 1000)} ago`,
    String(d.perMinute),
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...cells.map((row) => (row[col] ?? '').length)));
  const row = (values: string[]) =>
    values
      .map((v, col) => v.padEnd(widths[col] ?? 0))
      .join('  ')
      .trimEnd();
  const room = Math.max(0, rows - 1);
  const shown = cells.length > room ? cells.slice(0, Math.max(0, room - 1)) : cells;
  const lines: Line[] = [[{ text: row(header), tone: 'dim' }]];
  shown.forEach((values, i) => {
    const availability = devices[i]?.availability;
    lines.push([{ text: row(values), tone: availability === 'offline' ? 'bad' : undefined }]);
  });
  if (devices.length === 0) lines.push([{ text: 'no devices yet' }]);
  if (shown.length < cells.length)
    lines.push([{ text: `… ${cells.length - shown.length} more (fieldgate devices)`, tone: 'dim' }]);
  return lines;
}

function tail(view: TopView, rows: number): Line[] {
  const notice: Line[] =
    view.tailDropped > 0
      ? [[{ text: `${view.tailDropped} readings not shown: this view read too slowly`, tone: 'warn' }]]
      : [];
  const room = Math.max(0, rows - notice.length);
  const readings = view.tail.slice(-room).map((r) => [{ text: renderReading(r) }]);
  return [
    ...notice,
    ...(readings.length === 0 ? [[{ text: 'waiting for readings…', tone: 'dim' as const }]] : readings),
  ];
}

/** The id, and the operator's name where it says more than the id does. */
function label(d: DeviceActivity): string {
  const native = d.id.slice(d.id.indexOf(':') + 1);
  return d.name === undefined || d.name === native || d.name === d.id ? d.id : `${d.id} ${d.name}`;
}

/** `text` cut to `width` characters, with `…` where it was cut. */
function fit(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** A line's segments cut to the terminal's width as a whole, then coloured. */
function paintLine(line: Line, columns: number, color: boolean): string {
  let room = columns;
  let out = '';
  for (const segment of line) {
    if (room <= 0) break;
    const text = segment.text.length > room ? fit(segment.text, room) : segment.text;
    room -= text.length;
    out += segment.tone === undefined ? text : paint(text, segment.tone, color);
  }
  return out;
}
