import picomatch from 'picomatch';
import type { DeviceMatch } from '../config/schema.js';
import type { Reading, Value } from '../model.js';

/**
 * Selects a reading, or the part of it a rule is about: returns the reading (projected to the selected
 * values when the rule names values), or null when nothing of it is selected. Never mutates its input.
 */
export type ReadingMatcher = (reading: Reading) => Reading | null;

type NamePredicate = (name: string) => boolean;

// `dot: true`: a device id or value name that happens to start with a dot is still an ordinary name here,
// not a hidden file.
const GLOB_OPTIONS = { dot: true } as const;

/** The adapter part of a device id: everything before the first `:` (the whole id when there is none). */
export function adapterOf(device: string): string {
  const colon = device.indexOf(':');
  return colon === -1 ? device : device.slice(0, colon);
}

/** One predicate for a glob list, or undefined for an empty list (which the callers read as "any"). */
function compileGlobs(globs: readonly string[]): NamePredicate | undefined {
  return globs.length === 0 ? undefined : picomatch([...globs], GLOB_OPTIONS);
}

/**
 * The reading with its values replaced by `values` (a subset of its own) and its units restricted to them.
 * Used wherever a stage forwards only part of a reading.
 */
export function withValues(reading: Reading, values: Record<string, Value>): Reading {
  const out: Reading = { ...reading, values };
  if (reading.units !== undefined) {
    const units: Record<string, string> = {};
    for (const [name, unit] of Object.entries(reading.units)) if (name in values) units[name] = unit;
    out.units = units;
  }
  return out;
}

/** Keeps only the values whose names satisfy `keep`; the same reading when all do, null when none do. */
function projectValues(reading: Reading, keep: NamePredicate): Reading | null {
  const values: Record<string, Value> = {};
  let kept = 0;
  let dropped = 0;
  for (const [name, value] of Object.entries(reading.values)) {
    if (keep(name)) {
      values[name] = value;
      kept++;
    } else {
      dropped++;
    }
  }
  if (kept === 0) return null;
  return dropped === 0 ? reading : withValues(reading, values);
}

function compileDevicePredicate(m: DeviceMatch): (device: string) => boolean {
  const device = compileGlobs(m.devices);
  const adapter = compileGlobs(m.adapters);
  return (id) => (device === undefined || device(id)) && (adapter === undefined || adapter(adapterOf(id)));
}

/**
 * Compiles an include-style rule (routes, `pipeline.filter.include`, `pipeline.aggregate.match`). Each empty
 * list matches everything; `adapters` are matched against the part of the device id before the first `:`.
 * When `values` is non-empty the reading is projected to the matching values, and null when none remain.
 * Globs are compiled once, here.
 */
export function compileMatch(m: DeviceMatch): ReadingMatcher {
  const selectsDevice = compileDevicePredicate(m);
  const selectsValue = compileGlobs(m.values);
  return (reading) => {
    if (!selectsDevice(reading.device)) return null;
    return selectsValue === undefined ? reading : projectValues(reading, selectsValue);
  };
}

/**
 * Compiles an exclude rule (`pipeline.filter.exclude`): returns what is left of a reading after the
 * excluded part is removed, or null when nothing is left. A rule with every list empty excludes nothing.
 * Otherwise `devices`/`adapters` choose the readings concerned (empty = all) and `values` the values
 * removed from them (empty = the whole reading).
 */
export function compileExclude(m: DeviceMatch): ReadingMatcher {
  if (m.devices.length === 0 && m.adapters.length === 0 && m.values.length === 0) return (reading) => reading;
  const concernsDevice = compileDevicePredicate(m);
  const excludesValue = compileGlobs(m.values);
  return (reading) => {
    if (!concernsDevice(reading.device)) return reading;
    return excludesValue === undefined ? null : projectValues(reading, (name) => !excludesValue(name));
  };
}
