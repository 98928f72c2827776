/** One measured figure, printed as one JSON line (docs/benchmarks.md#output-format). */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The peer's figure measured in the same run, when this figure is a comparison. */
  baseline?: number;
  /** `value / baseline`. */
  ratio?: number;
}

/** A scenario returns plain figures for one run; `run.ts` repeats it and keeps the medians. */
export type Sample = Pick<Figure, 'name' | 'value' | 'unit'>;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The value at quantile `q` (0..1) of unsorted samples, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? sorted[0]!;
}

/** Three significant digits: enough to compare runs, few enough to read. */
export function round(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(digits));
}

/** Collapses repeated runs into one figure per name: the median of its samples, first-seen order kept. */
export function medians(runs: readonly (readonly Sample[])[]): Figure[] {
  const byName = new Map<string, { unit: string; values: number[] }>();
  for (const run of runs) {
    for (const sample of run) {
      const entry = byName.get(sample.name) ?? { unit: sample.unit, values: [] };
      entry.values.push(sample.value);
      byName.set(sample.name, entry);
    }
  }
  return [...byName].map(([name, { unit, values }]) => ({ name, value: round(median(values)), unit }));
}

/** Attaches `baseline` and `ratio` to the figure named `name`, from the figure named `baselineName`. */
export function compare(figures: Figure[], name: string, baselineName: string): void {
  const figure = figures.find((f) => f.name === name);
  const baseline = figures.find((f) => f.name === baselineName);
  if (figure === undefined || baseline === undefined || baseline.value === 0) return;
  figure.baseline = baseline.value;
  figure.ratio = round(figure.value / baseline.value);
}

/** The short human table printed after the JSON lines. */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    `${f.value} ${f.unit}`,
    f.baseline === undefined ? '' : `${f.baseline} ${f.unit}`,
    f.ratio === undefined ? '' : `${f.ratio}×`,
  ]);
  const header = ['figure', 'value', 'baseline', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
