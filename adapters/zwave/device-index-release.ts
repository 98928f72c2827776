import { createRequire } from 'node:module';
import type { Driver, ZWaveNode } from 'zwave-js';

/** What this module touches of zwave-js's config manager: its device index, private to zwave-js. */
interface DeviceIndexHolder {
  index?: unknown;
}

/** json5 as zwave-js's config loader resolves it (one module instance per resolved path). */
interface Json5 {
  parse(text: string): unknown;
}

/**
 * zwave-js reads its device config index (one entry per device file it ships, ~3,300) only to find a
 * node's device file during an interview, yet keeps it, ~4.5 MiB of heap, for the life of the driver;
 * json5, which parsed the 1.6 MB index file, keeps that text until its next parse. Once every node is
 * ready (no interview can be looking the index up), both are let go. The next interview (a node included
 * later, a re-interview) finds no index and zwave-js loads it again from disk, as at start.
 * Figures: docs/benchmarks.md#footprint.
 *
 * Call once per Driver, right after constructing it.
 */
export function releaseDeviceIndexWhenIdle(driver: Driver): void {
  const releaseIfIdle = (): void => {
    if (![...driver.controller.nodes.values()].every((node) => node.ready)) return;
    const configManager = driver.configManager as unknown as DeviceIndexHolder;
    if (configManager.index === undefined) return;
    configManager.index = undefined;
    forgetJson5Source();
  };
  driver.on('all nodes ready', releaseIfIdle);
  driver.once('driver ready', () => {
    driver.controller.on('node added', (node: ZWaveNode) => node.on('ready', releaseIfIdle));
  });
}

/** json5 keeps the last text it parsed in a module variable; a tiny parse replaces it. */
function forgetJson5Source(): void {
  try {
    const fromConfig = createRequire(createRequire(import.meta.url).resolve('@zwave-js/config'));
    (fromConfig('json5') as Json5).parse('null');
  } catch {
    // A zwave-js that no longer uses json5: nothing is held, nothing to do.
  }
}
