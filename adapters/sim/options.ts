import { FieldgateError } from '../../src/errors.js';

/** The `sim` adapter entry of the config, as the schema parsed it (defaults applied). */
export interface SimOptions {
  fleet: { climate: number; switch: number; contact: number; sleepy: number };
  /** 0 means full speed: back-to-back batches, paced only by `emit`. */
  reportIntervalMs: number;
  jitterMs: number;
  wakeIntervalMs: number;
  awakeMs: number;
  /** Readings per emit at full speed; at a set interval each device emits its own reading. */
  batchSize: number;
  seed?: number;
}

function integer(raw: Record<string, unknown>, key: string, path: string, min: number): number {
  const value = raw[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new FieldgateError('FG_CONFIG_INVALID', `sim adapter: ${path}${key} must be an integer ≥ ${min}.`, {
      context: { key: path + key, value },
    });
  }
  return value;
}

const count = (raw: Record<string, unknown>, key: string, path = ''): number => integer(raw, key, path, 0);

/**
 * Reads the options the registry hands over. The config schema has already validated them and filled in
 * defaults; this only re-checks the shape, because the adapter contract passes them untyped.
 */
export function readSimOptions(raw: Record<string, unknown>): SimOptions {
  const fleet = (raw.fleet ?? {}) as Record<string, unknown>;
  const options: SimOptions = {
    fleet: {
      climate: count(fleet, 'climate', 'fleet.'),
      switch: count(fleet, 'switch', 'fleet.'),
      contact: count(fleet, 'contact', 'fleet.'),
      sleepy: count(fleet, 'sleepy', 'fleet.'),
    },
    reportIntervalMs: count(raw, 'reportIntervalMs'),
    jitterMs: count(raw, 'jitterMs'),
    wakeIntervalMs: count(raw, 'wakeIntervalMs'),
    awakeMs: count(raw, 'awakeMs'),
    batchSize: integer(raw, 'batchSize', '', 1),
  };
  if (raw.seed !== undefined) options.seed = integer(raw, 'seed', '', Number.MIN_SAFE_INTEGER);
  return options;
}
