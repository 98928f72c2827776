import v8 from 'node:v8';

/**
 * V8's default bytecode budget before a function is considered for optimisation (`node --v8-options`,
 * `--interrupt-budget`: 66 KiB of executed bytecode).
 */
const V8_DEFAULT_INTERRUPT_BUDGET = 67_584;
/** During start-up, 16 × the default. */
const START_UP_INTERRUPT_BUDGET = 16 * V8_DEFAULT_INTERRUPT_BUDGET;
/** How long start-up lasts: module loading, the radio stacks' start and first interviews, the first batches. */
export const START_UP_MS = 60_000;

/**
 * Start-up runs in V8's interpreter. The Z-Wave and Zigbee stacks run a burst of code once when they load and
 * start (building their command classes and tables, the interview); at V8's default budget TurboFan optimises
 * much of it, and the memory its compilations take stays with the process although that code never runs
 * again. With a 16× budget for the first minute it stays interpreted; then V8's default budget returns, so the
 * code that runs continuously (the pipeline, the queue, the forwarders) is optimised as before and costs no
 * more CPU. Figures: docs/benchmarks.md#footprint. A `--interrupt-budget` given to node wins.
 */
export function interpretStartUp(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((arg) => /^--interrupt[-_]budget(=|$)/.test(arg))) return;
  v8.setFlagsFromString(`--interrupt-budget=${START_UP_INTERRUPT_BUDGET}`);
  setTimeout(
    () => v8.setFlagsFromString(`--interrupt-budget=${V8_DEFAULT_INTERRUPT_BUDGET}`),
    START_UP_MS,
  ).unref();
}
