import type { DeviceProfileLookup } from '../devices/device-settings.js';
import type { Reading, Value } from '../model.js';
import type { Stage } from './stage.js';

/** Significant digits kept by default: a double holds 15 to 17, and the last one or two are binary noise. */
const DEFAULT_SIGNIFICANT_DIGITS = 15;

/**
 * A number without binary floating-point noise: `0.1 + 0.2` → `0.3`, `1.2 * 3` → `3.6`. Integers pass as
 * they are (a counter past 2^50 keeps every digit); a value keeps 15 significant digits, more than any
 * sensor measures.
 */
export function withoutNoise(value: number): number {
  if (Number.isInteger(value) || !Number.isFinite(value)) return value;
  // The shortest text that reads back as `value`: 16 characters hold at most 15 digits and the point, so
  // there is no noise to lose (most values); learning that is cheaper than rounding.
  if (String(value).length <= DEFAULT_SIGNIFICANT_DIGITS + 1) return value;
  return Number(value.toPrecision(DEFAULT_SIGNIFICANT_DIGITS));
}

/**
 * `value` rounded to `decimals` places, half away from zero, as the number is written: 1.005 → 1.01 (the
 * double nearest 1.005 is a hair below it, so `toFixed` would give 1.00).
 */
export function roundTo(value: number, decimals: number): number {
  if (!Number.isFinite(value)) return value;
  const written = String(withoutNoise(Math.abs(value)));
  // Shifting the decimal point in the text keeps the digits as written; exponent forms (1e-7) are tiny or
  // huge enough for toFixed.
  const rounded = written.includes('e')
    ? Number(Math.abs(value).toFixed(decimals))
    : Number(`${Math.round(Number(`${written}e${decimals}`))}e-${decimals}`);
  return value < 0 && rounded !== 0 ? -rounded : rounded;
}

/**
 * The first stage: what `devices:` says about each device's readings. In order, per numeric value:
 * `calibration` adds its offset, then `precision` rounds to its decimal places; every other numeric value
 * loses its floating-point noise. The operator's name for the device is set as the reading's `name`.
 * Readings of devices without settings keep their identity unless a value had noise.
 */
export class DeviceStage implements Stage {
  readonly name = 'devices';
  readonly #lookup: DeviceProfileLookup;

  constructor(lookup: DeviceProfileLookup) {
    this.#lookup = lookup;
  }

  process(readings: readonly Reading[], _now: number): Reading[] {
    return readings.map((reading) => this.#apply(reading));
  }

  #apply(reading: Reading): Reading {
    const profile = this.#lookup(reading.device);
    let values: Record<string, Value> | undefined;
    for (const [key, value] of Object.entries(reading.values)) {
      if (typeof value !== 'number') continue;
      const offset = profile?.calibration?.[key];
      const decimals = profile?.precision?.[key];
      const calibrated = offset === undefined ? value : value + offset;
      const next = decimals === undefined ? withoutNoise(calibrated) : roundTo(calibrated, decimals);
      if (Object.is(next, value)) continue;
      values ??= { ...reading.values };
      values[key] = next;
    }
    const name = profile?.name;
    if (values === undefined && (name === undefined || reading.name === name)) return reading;
    const out: Reading = { ...reading, values: values ?? reading.values };
    if (name !== undefined) out.name = name;
    return out;
  }
}
