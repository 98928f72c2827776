import { zwaveAdapterSchema } from '../../../src/config/adapters/zwave.js';

/**
 * Adapter options as the daemon hands them over: parsed by the real config schema, so every default the
 * adapter relies on is there. Reopen backoff is short and the sleep grace zero, for tests.
 */
export function zwaveOptions(
  serialPort: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return zwaveAdapterSchema.parse({
    type: 'zwave',
    serialPort,
    reopen: { initialMs: 200, maxMs: 1000 },
    sleepGraceMs: 0,
    ...overrides,
  });
}
