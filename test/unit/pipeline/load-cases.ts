import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Reading } from '../../../src/model.js';

/** A table-driven stage case from `test/fixtures/pipeline/*.yaml`. */
export interface StageCase {
  name: string;
  config: Record<string, unknown>;
  steps: { now: number; flush?: boolean | 'final'; in?: Reading[]; out: Reading[] }[];
}

/** Loads a fixture; a reading without `ts` gets its step's `now`. */
export function loadStageCases(file: string): StageCase[] {
  const url = new URL(`../../fixtures/pipeline/${file}`, import.meta.url);
  const cases = parse(readFileSync(url, 'utf8')) as StageCase[];
  for (const c of cases) {
    for (const step of c.steps) {
      for (const r of [...(step.in ?? []), ...step.out]) r.ts ??= step.now;
    }
  }
  return cases;
}
