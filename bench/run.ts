/**
 * `npm run bench`: every benchmark docs/benchmarks.md asks for, each repeated `--runs` times (default 3) with
 * the peer
 * measured in the same run, side by side. Prints one JSON object per figure (the median of its runs), then a
 * short table. Everything is written under one temp directory, removed at the end; progress goes to stderr.
 *
 * Options: `--runs N`, `--only name,name` (scenario names below), `--backlog N` (readings; default
 * 1,000,000, the size docs/benchmarks.md#backlog asks for).
 * The daemon runs with the systemd unit's `NODE_OPTIONS`; `FIELDGATE_BENCH_NODE_OPTIONS` replaces them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backlog } from './scenarios/backlog.js';
import { bridgeThroughput } from './scenarios/bridge.js';
import { cloudCost } from './scenarios/cloud-cost.js';
import { azureThroughput } from './scenarios/cloud-throughput.js';
import type { ScenarioContext } from './scenarios/context.js';
import { heapSettings } from './scenarios/heap.js';
import { radiosFootprint, radiosOneByOne } from './scenarios/radios.js';
import { idleFootprint, latency } from './scenarios/latency.js';
import { levelDbAlone, queueAlone } from './scenarios/queue.js';
import { fieldgateThroughput } from './scenarios/throughput.js';
import { webFootprint } from './scenarios/web.js';
import { compare, medians, table, type Figure, type Sample } from './support/figures.js';

interface Scenario {
  name: string;
  run: (ctx: ScenarioContext) => Promise<Sample[]>;
  /** Deterministic scenarios run once, whatever `--runs` says. */
  isDeterministic?: boolean;
  /** Runs once: its figures vary little between runs, and the whole bench must stay under 5 minutes. */
  isRunOnce?: boolean;
  /** Not part of the default run; selected with `--only <name>`. */
  isOptIn?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'bridge', run: bridgeThroughput },
  // 20 × 100 readings in flight fill a 2,000-item group commit: commits follow one another at once and the
  // ingest pacer holds appends back while the backlog is above 5,000, so the daemon, not the fleet, sets the
  // rate. (20 × 200 and 20 × 500 deliver no more; their larger backlogs cost 5–25 MiB of RSS.)
  {
    name: 'throughput',
    run: (ctx) => fieldgateThroughput(ctx, { name: 'fieldgate.throughput', simAdapters: 20, batchSize: 100 }),
  },
  // The old offered load (18 × 100, ≤ 9,000 readings/s), for comparison with earlier runs.
  {
    name: 'offered9k',
    run: (ctx) => fieldgateThroughput(ctx, { name: 'fieldgate.offered9k', simAdapters: 18 }),
    isOptIn: true,
  },
  { name: 'latency', run: latency },
  { name: 'idle', run: idleFootprint },
  { name: 'radios', run: radiosFootprint, isRunOnce: true },
  // The status page on, then one browser on it (needs chromium, as the browser tests do).
  { name: 'web', run: webFootprint, isRunOnce: true },
  // Where the radios' RSS goes: one more radio stack per daemon (not a target).
  { name: 'radios-each', run: radiosOneByOne, isRunOnce: true, isOptIn: true },
  // The unit's heap settings against V8's default young generation, for choosing them (not a target).
  { name: 'heap', run: heapSettings, isOptIn: true },
  { name: 'backlog', run: backlog },
  { name: 'queue', run: queueAlone },
  { name: 'leveldb', run: levelDbAlone },
  { name: 'cost', run: cloudCost, isDeterministic: true },
  { name: 'azure', run: azureThroughput, isRunOnce: true },
];

/** Figure pairs reported as value ÷ baseline; an alias reports the comparison under a name of its own. */
const COMPARISONS: { name: string; baseline: string; as?: string }[] = [
  { name: 'fieldgate.throughput', baseline: 'bridge.throughput' },
  { name: 'fieldgate.throughput', baseline: 'leveldb.syncedBatches', as: 'fieldgate.throughput.vsLevelDb' },
  { name: 'fieldgate.throughput.rss', baseline: 'bridge.rss.underLoad' },
  { name: 'queue.persist', baseline: 'leveldb.syncedBatches' },
  { name: 'fieldgate.rss.radios', baseline: 'fieldgate.rss.idle' },
  { name: 'fieldgate.rss.webEnabled', baseline: 'fieldgate.rss.idle' },
  { name: 'fieldgate.rss.webBrowser', baseline: 'fieldgate.rss.idle' },
  { name: 'fieldgate.rss.radios.zigbee', baseline: 'fieldgate.rss.idle' },
  { name: 'fieldgate.rss.radios.zigbee+zwave', baseline: 'fieldgate.rss.idle' },
  { name: 'fieldgate.rss.radios.zigbee+zwave+ble', baseline: 'fieldgate.rss.idle' },
  { name: 'heap.unit.rss', baseline: 'heap.v8DefaultYoung.rss' },
  { name: 'heap.unit.cpuPer1k', baseline: 'heap.v8DefaultYoung.cpuPer1k' },
];

function withComparisons(figures: Figure[]): Figure[] {
  const out = [...figures];
  for (const { name, baseline, as } of COMPARISONS) {
    const figure = out.find((f) => f.name === name);
    if (figure === undefined) continue;
    const target = as === undefined ? figure : { name: as, value: figure.value, unit: figure.unit };
    if (as !== undefined) out.push(target);
    compare(out, target.name, baseline);
  }
  for (const figure of out.filter((f) => /\.(batched|billed)Per10k$/.test(f.name))) {
    compare(out, figure.name, figure.name.replace(/\.(batched|billed)Per10k$/, '.perReadingPer10k'));
  }
  return out;
}

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
    backlog: { type: 'string', default: '1000000' },
  },
});
const runs = Number(args.runs);
const only = args.only?.split(',');
const selected = SCENARIOS.filter((s) => (only === undefined ? s.isOptIn !== true : only.includes(s.name)));
const root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-bench-'));
const samples: Sample[][] = [];
const startedAt = Date.now();
try {
  for (let run = 1; run <= runs; run++) {
    for (const scenario of selected) {
      if ((scenario.isDeterministic === true || scenario.isRunOnce === true) && run > 1) continue;
      const dir = await mkdtemp(path.join(root, `${scenario.name}-`));
      process.stderr.write(`run ${run}/${runs}: ${scenario.name}…\n`);
      samples.push(
        await scenario.run({ dir, warmupMs: 2000, windowMs: 5000, backlogReadings: Number(args.backlog) }),
      );
      await rm(dir, { recursive: true, force: true });
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
const figures = withComparisons(medians(samples));
for (const figure of figures) console.log(JSON.stringify(figure));
console.log(
  `\n${table(figures)}\n\nmedians of ${runs} runs, ${Math.round((Date.now() - startedAt) / 1000)} s`,
);
