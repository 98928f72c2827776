/**
 * Human output for the CLI (clig.dev): aligned tables on stdout, colour only on a TTY and never when
 * `NO_COLOR` is set, progress and notes on stderr so stdout stays pipeable.
 */

export type Tone = 'ok' | 'warn' | 'bad' | 'dim';

const ANSI: Record<Tone, string> = { ok: '32', warn: '33', bad: '31', dim: '2' };

/** Whether to colour a stream: a TTY, and `NO_COLOR` unset or empty (no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export function paint(text: string, tone: Tone, enabled = useColor(process.stdout)): string {
  return enabled ? `\u001b[${ANSI[tone]}m${text}\u001b[0m` : text;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `95s`, `4m05s`, `2h03m`: durations a person reads at a glance. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `512 B`, `1.5 kB`, `12.0 MB` (SI, as `df -H` prints). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Print a value as JSON (for `--json`) on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
