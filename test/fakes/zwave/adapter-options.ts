/**
 * Adapter options as written in config (the adapter definition parses them with the real options schema,
 * so every default the adapter relies on is there). Reopen backoff is short and the sleep grace zero, for
 * tests.
 */
export function zwaveOptions(
  serialPort: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    serialPort,
    reopen: { initialMs: 200, maxMs: 1000 },
    sleepGraceMs: 0,
    ...overrides,
  };
}
