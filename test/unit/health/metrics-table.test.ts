import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../../src/health/metrics.js';
import type { RouteStatus, StatusSnapshot } from '../../../src/health/status.js';
import { droppingRadio, quietSim, statusWith } from './status-fixture.js';

/** The operators' table of metrics (docs/operations.md#metrics): name → type and label keys. */
function documentedMetrics(): Map<string, { type: string; labels: string[] }> {
  const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(fieldgate_[a-z_]+)` *\| (\w+) *\| ([^|]+?) *\|/gm)];
  return new Map(
    rows.map(([, name, type, labels]) => [
      name!,
      {
        type: type!,
        labels: labels === '—' ? [] : labels!.split(',').map((label) => label.trim().replace(/`/g, '')),
      },
    ]),
  );
}

/** The app metrics a scrape exposes: `# TYPE` of each, and the label keys of its samples. */
function exposedMetrics(text: string): Map<string, { type: string; labels: string[] }> {
  const metrics = new Map<string, { type: string; labels: string[] }>();
  for (const [, name, type] of text.matchAll(/^# TYPE (fieldgate_\w+) (\w+)$/gm)) {
    metrics.set(name!, { type: type!, labels: [] });
  }
  for (const [, name, labels] of text.matchAll(/^(fieldgate_\w+?)(?:\{([^}]*)\})? \S+$/gm)) {
    const keys = [...(labels ?? '').matchAll(/(\w+)="/g)].map(([, key]) => key!);
    const metric = metrics.get(name!);
    if (metric === undefined) throw new Error(`a sample of ${name} without a # TYPE line`);
    // Every sample of one metric carries the same label keys.
    if (metric.labels.length > 0) expect(keys, name).toEqual(metric.labels);
    metric.labels = keys;
  }
  return metrics;
}

const route = (name: string): RouteStatus => ({
  name,
  forwarder: {
    route: name,
    state: 'idle',
    sentMessages: 3,
    sentReadings: 30,
    failures: 2,
    rejected: 1,
    billing: { billedUnits: 9, day: '2024-10-04', billedUnitsToday: 4, operations: { d2c: 3, twinRead: 1 } },
  },
  queue: {
    depth: 5,
    bytes: 640,
    inFlight: 1,
    oldestAgeMs: 1500,
    dropped: { quota: 1, diskFull: 2, ttl: 3, rejected: 4, writeFailed: 5 },
    deadLetters: 4,
    appended: 40,
    acked: 35,
    nextSeq: 41,
  },
  drainEtaS: 2,
  commandIntake: {
    admitted: 7,
    inFlight: 1,
    refused: { rate: 1, inFlight: 2, oversize: 3, invalid: 4 },
    refusalsAnswered: 3,
  },
});

/** A snapshot with every field a metric reads set, so every metric has at least one sample. */
const everything: StatusSnapshot = {
  ...statusWith([droppingRadio, quietSim]),
  routes: [route('cloud'), route('local')],
  storage: { bytes: 4096, quarantine: null, writes: { state: 'ok' } },
  devices: { online: 3, offline: 1, asleep: 2, unknown: 0 },
  pipeline: { in: 50, out: 40, filtered: 10, unrouted: 0 },
};

describe('metric names and labels', () => {
  it('exposes exactly the metrics in docs/operations.md#metrics, with their types and label keys', async () => {
    const text = await new GatewayMetrics(
      () => everything,
      () => 123_456,
    ).render();

    const documented = documentedMetrics();
    expect(documented.size).toBeGreaterThan(0);
    expect(Object.fromEntries(exposedMetrics(text))).toEqual(Object.fromEntries(documented));
  });

  it('gives every metric at least one sample from the full snapshot', async () => {
    const text = await new GatewayMetrics(
      () => everything,
      () => 123_456,
    ).render();
    for (const name of documentedMetrics().keys()) {
      expect(text, name).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? \\S+$`, 'm'));
    }
  });
});
