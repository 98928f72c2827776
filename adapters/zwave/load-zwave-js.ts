import type * as ZwaveJs from 'zwave-js';

export type ZwaveModule = typeof ZwaveJs;

/**
 * Imports zwave-js without the process-wide hook its entry point installs: `source-map-support`, which
 * replaces `Error.prepareStackTrace` (and wraps `process.emit` for uncaught exceptions). From then on every
 * stack trace the daemon formats — zwave-js's own errors, a reopen attempt, any logged `err` — reads the
 * `.js` and `.js.map` files of each frame and keeps them parsed for the life of the process: about 12 MiB
 * of heap on a running Z-Wave adapter (docs/benchmarks.md#footprint). Stack traces then name the compiled
 * `.js` files, as everywhere else in the daemon.
 */
export async function importZwaveJs(): Promise<ZwaveModule> {
  const formatter = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
  const emit = Object.getOwnPropertyDescriptor(process, 'emit');
  try {
    return await import('zwave-js');
  } finally {
    restore(Error, 'prepareStackTrace', formatter);
    restore(process, 'emit', emit);
  }
}

function restore(target: object, key: string, descriptor: PropertyDescriptor | undefined): void {
  if (descriptor === undefined) Reflect.deleteProperty(target, key);
  else Object.defineProperty(target, key, descriptor);
}
