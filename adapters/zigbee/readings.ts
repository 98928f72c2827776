import type { DeviceId, Reading, Value } from '../../src/model.js';
import { FALLBACK_UNITS, toValueName } from './value-names.js';

/**
 * Pure mapping from what the converters (or, failing them, the raw ZCL attributes) say to the gateway's
 * readings: names normalised, nested objects flattened one level, units attached.
 */

function isValue(v: unknown): v is Value {
  return v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}

/**
 * Normalises one `fromZigbee` result. Nested objects (`color: {x, y}`) become `colorX`, `colorY`; arrays
 * and deeper structures are not values the pipeline can aggregate, so they are left out.
 */
export function normalizeConverted(converted: Readonly<Record<string, unknown>>): Record<string, Value> {
  const values: Record<string, Value> = {};
  for (const [key, raw] of Object.entries(converted)) {
    const name = toValueName(key);
    if (isValue(raw)) {
      values[name] = raw;
    } else if (typeof raw === 'object' && raw !== undefined && !Array.isArray(raw) && !Buffer.isBuffer(raw)) {
      for (const [subKey, sub] of Object.entries(raw)) {
        if (isValue(sub)) values[name + toValueName(`_${subKey}`)] = sub;
      }
    }
  }
  return values;
}

/** A ZCL attribute the gateway understands without a converter definition. */
interface GenericAttribute {
  name: string;
  convert: (raw: number) => Value;
}

/**
 * Cluster attributes read directly when a device has no definition at all (or its converters produce
 * nothing), per the ZCL specification's encodings.
 */
const GENERIC_ATTRIBUTES: Readonly<Record<string, Readonly<Record<string, GenericAttribute>>>> = {
  msTemperatureMeasurement: { measuredValue: { name: 'temperature', convert: (v) => v / 100 } },
  msRelativeHumidity: { measuredValue: { name: 'humidity', convert: (v) => v / 100 } },
  msPressureMeasurement: { measuredValue: { name: 'pressure', convert: (v) => v } },
  // ZCL 4.2.5.1: MeasuredValue = 10,000 × log10(lux) + 1.
  msIlluminanceMeasurement: {
    measuredValue: { name: 'illuminance', convert: (v) => Math.round(10 ** ((v - 1) / 10_000)) },
  },
  // ZCL 3.3.2.2.3: percentage in half-percent steps.
  genPowerCfg: { batteryPercentageRemaining: { name: 'battery', convert: (v) => Math.min(100, v / 2) } },
  genOnOff: { onOff: { name: 'state', convert: (v) => (v === 1 ? 'ON' : 'OFF') } },
};

/** Values from a raw attribute report or read response, for devices the converters do not know. */
export function genericClusterValues(
  cluster: string,
  data: Readonly<Record<string, unknown>>,
): Record<string, Value> {
  const attributes = GENERIC_ATTRIBUTES[cluster];
  const values: Record<string, Value> = {};
  if (attributes === undefined) return values;
  for (const [attribute, raw] of Object.entries(data)) {
    const generic = attributes[attribute];
    if (generic !== undefined && typeof raw === 'number') values[generic.name] = generic.convert(raw);
  }
  return values;
}

/**
 * One reading. `exposedUnits` (value name → unit, from the device's definition) wins over the fallback
 * table; link quality is added because every frame carries it.
 */
export function buildReading(input: {
  device: DeviceId;
  ts: number;
  values: Record<string, Value>;
  exposedUnits: Readonly<Record<string, string>>;
  linkQuality?: number;
}): Reading {
  const values = { ...input.values };
  if (input.linkQuality !== undefined && values.linkQuality === undefined)
    values.linkQuality = input.linkQuality;
  const units: Record<string, string> = {};
  for (const name of Object.keys(values)) {
    const unit = input.exposedUnits[name] ?? FALLBACK_UNITS[name];
    if (unit !== undefined) units[name] = unit;
  }
  return { device: input.device, ts: input.ts, values, ...(Object.keys(units).length > 0 ? { units } : {}) };
}
