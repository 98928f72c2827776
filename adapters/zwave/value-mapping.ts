import type { Value } from '../../src/model.js';

/** One zwave-js value as a `value added` / `value updated` / `value notification` event carries it. */
export interface ZwaveValue {
  commandClass: number;
  /** zwave-js's name of the command class, used for the generic fallback name. */
  commandClassName: string;
  endpoint: number;
  property: string | number;
  propertyKey?: string | number | undefined;
  /** zwave-js's human name of the property key (e.g. `Electric_kWh_Consumed`), when it has one. */
  propertyKeyName?: string | undefined;
  value: unknown;
  /** The unit from zwave-js's value metadata (`°C`, `%`, `kWh`), when it has one. */
  unit?: string | undefined;
}

/** One named, unit-free reading value. */
export interface MappedValue {
  name: string;
  value: Value;
  unit?: string;
}

/** Command class ids (Z-Wave Application Command Class specification). */
export const CC = {
  basic: 0x20,
  binarySwitch: 0x25,
  multilevelSwitch: 0x26,
  binarySensor: 0x30,
  multilevelSensor: 0x31,
  meter: 0x32,
  thermostatMode: 0x40,
  thermostatSetpoint: 0x43,
  centralScene: 0x5b,
  doorLock: 0x62,
  entryControl: 0x6f,
  notification: 0x71,
  lock: 0x76,
  battery: 0x80,
} as const;

/**
 * Command classes whose values describe the device or the network, not the world: they feed DeviceInfo
 * (manufacturer, firmware, wake-up interval) or configuration, and are never readings.
 */
const METADATA_CCS = new Set([
  0x59, // Association Group Information
  0x5e, // Z-Wave Plus Info
  0x70, // Configuration
  0x72, // Manufacturer Specific
  0x73, // Powerlevel
  0x77, // Node Naming and Location
  0x7a, // Firmware Update Meta Data
  0x84, // Wake Up
  0x85, // Association
  0x86, // Version
  0x8e, // Multi Channel Association
]);

/** Request-side values: what was asked, not what the device reports. */
const REQUEST_PROPERTIES = new Set(['targetValue', 'targetMode', 'duration', 'restorePrevious']);

/** A rule's answer for a value that is no reading at all, not even under a generic name. */
const SKIP = null;

/** A mapped value, `undefined` for "no rule claims it" (generic fallback), or `SKIP`. */
type Rule = (v: ZwaveValue) => MappedValue | undefined | typeof SKIP;

/** Multilevel Switch's full level (Multilevel Switch CC: 0x01–0x63 are 1–99 %, 0x63 "on at maximum"). */
const MULTILEVEL_FULL = 99;

/** Binary Sensor types by zwave-js property name → reading name and how the raw boolean reads. */
const BINARY_SENSORS: Record<string, { name: string; invert?: boolean }> = {
  // Door/Window true means open; `contact` is true while closed, as zigbee contacts report it.
  'Door/Window': { name: 'contact', invert: true },
  Motion: { name: 'motion' },
  Water: { name: 'waterLeak' },
  Smoke: { name: 'smoke' },
  CO: { name: 'carbonMonoxide' },
  Heat: { name: 'heat' },
  Freeze: { name: 'freeze' },
  Tamper: { name: 'tamper' },
  Glass_Break: { name: 'glassBreak' },
};

/** Multilevel Sensor types by zwave-js property name, where the camel-cased name would be clumsy. */
const MULTILEVEL_SENSORS: Record<string, string> = {
  'Air temperature': 'temperature',
  Humidity: 'humidity',
  Illuminance: 'illuminance',
  'Atmospheric pressure': 'pressure',
  'Barometric pressure': 'pressure',
  'Carbon dioxide (CO₂) level': 'co2',
  'Volatile Organic Compound level': 'voc',
  Power: 'power',
  Voltage: 'voltage',
  Current: 'current',
};

/** Meter values by unit: the unit says what is measured whatever the meter type. */
const METER_UNITS: Record<string, string> = {
  kWh: 'energy',
  kVAh: 'apparentEnergy',
  W: 'power',
  V: 'voltage',
  A: 'current',
  'm³': 'volume',
  'ft³': 'volume',
  'US gallons': 'volume',
};

/**
 * Notification variables (property / propertyKey) → reading, with the event states that mean "true".
 * The numbers are Notification CC event codes (Z-Wave Alarm Command Class, notification types 0x06, 0x07,
 * 0x05, 0x01); `idle` (0) reads as false.
 */
const NOTIFICATIONS: Record<string, { name: string; trueWhen: number[]; falseWhen: number[] }> = {
  'Access Control/Door state': { name: 'contact', trueWhen: [23], falseWhen: [22] },
  'Home Security/Motion sensor status': { name: 'motion', trueWhen: [7, 8], falseWhen: [0] },
  'Home Security/Cover status': { name: 'tamper', trueWhen: [3], falseWhen: [0] },
  'Water Alarm/Sensor status': { name: 'waterLeak', trueWhen: [1, 2], falseWhen: [0] },
  'Smoke Alarm/Sensor status': { name: 'smoke', trueWhen: [1, 2], falseWhen: [0] },
};

/** Thermostat modes (Thermostat Mode CC) by number; the same table maps `setMode` names back. */
export const THERMOSTAT_MODES: Record<number, string> = {
  0: 'off',
  1: 'heat',
  2: 'cool',
  3: 'auto',
  4: 'auxiliary',
  5: 'resume',
  6: 'fan',
  7: 'furnace',
  8: 'dry',
  9: 'moist',
  10: 'autoChangeover',
  11: 'energyHeat',
  12: 'energyCool',
  13: 'away',
  15: 'fullPower',
  31: 'manufacturerSpecific',
};

/** Thermostat setpoint types (Thermostat Setpoint CC) by number; `setSetpoint` takes these names. */
export const SETPOINT_TYPES: Record<number, string> = {
  1: 'heating',
  2: 'cooling',
  7: 'furnace',
  8: 'dryAir',
  9: 'moistAir',
  10: 'autoChangeover',
  11: 'energySaveHeating',
  12: 'energySaveCooling',
  13: 'awayHeating',
  14: 'awayCooling',
  15: 'fullPower',
};

/** Central Scene key attributes by number (Central Scene CC v3), as the suffix of a scene `action`. */
const SCENE_KEYS: Record<number, string> = {
  0: 'Pressed',
  1: 'Released',
  2: 'Held',
  3: 'Pressed2x',
  4: 'Pressed3x',
  5: 'Pressed4x',
  6: 'Pressed5x',
};

const RULES: Record<number, Rule> = {
  [CC.binarySwitch]: (v) => (v.property === 'currentValue' ? named('state', v) : undefined),
  [CC.multilevelSwitch]: (v) => {
    if (v.property !== 'currentValue') return undefined;
    // Multilevel Switch levels run 0–99 with 99 full; `level` runs 0–100 as `setLevel` takes it.
    const level = typeof v.value === 'number' && v.value === MULTILEVEL_FULL ? 100 : v.value;
    return named('level', { ...v, value: level }, '%');
  },
  [CC.basic]: (v) => (v.property === 'currentValue' ? named('basic', v) : undefined),
  [CC.binarySensor]: (v) => {
    const sensor = BINARY_SENSORS[String(v.property)];
    if (sensor === undefined) return named(`binarySensor${upperCamel(String(v.property))}`, v);
    return {
      name: sensor.name,
      value: typeof v.value === 'boolean' && sensor.invert === true ? !v.value : toValue(v.value),
    };
  },
  [CC.multilevelSensor]: (v) => {
    const property = String(v.property);
    // `voltage` is always volts (mains, line); a sensor that reports millivolts is converted, so one name
    // never carries two scales.
    if (property === 'Voltage' && v.unit === 'mV' && typeof v.value === 'number')
      return { name: 'voltage', value: v.value / 1000, unit: 'V' };
    return named(MULTILEVEL_SENSORS[property] ?? lowerCamel(property), v);
  },
  [CC.meter]: (v) => {
    if (v.property !== 'value') return undefined;
    const byUnit = v.unit === undefined ? undefined : METER_UNITS[v.unit];
    return named(byUnit ?? `meter${upperCamel(String(v.propertyKeyName ?? v.propertyKey ?? ''))}`, v);
  },
  [CC.battery]: (v) => {
    if (v.property === 'level') return named('battery', v, '%');
    if (v.property === 'isLow') return named('batteryLow', v);
    return undefined;
  },
  [CC.notification]: (v) => {
    // zwave-js stores a report's legacy Alarm bytes as `alarmType` / `alarmLevel`; Notification v2+ devices
    // send them as 0 with every event (Notification CC: "MUST be set to 0x00"), which is no reading. A
    // v1 device's non-zero alarm bytes still flow under their generic names.
    if ((v.property === 'alarmType' || v.property === 'alarmLevel') && v.value === 0) return SKIP;
    const known = NOTIFICATIONS[`${String(v.property)}/${String(v.propertyKey)}`];
    if (known === undefined || typeof v.value !== 'number') return undefined;
    if (known.trueWhen.includes(v.value)) return { name: known.name, value: true };
    if (known.falseWhen.includes(v.value)) return { name: known.name, value: false };
    return { name: `${known.name}Event`, value: v.value };
  },
  [CC.thermostatSetpoint]: (v) => {
    if (v.property !== 'setpoint' || typeof v.propertyKey !== 'number') return undefined;
    return named(`${SETPOINT_TYPES[v.propertyKey] ?? `type${v.propertyKey}`}Setpoint`, v);
  },
  [CC.thermostatMode]: (v) => {
    if (v.property !== 'mode' || typeof v.value !== 'number') return undefined;
    return { name: 'thermostatMode', value: THERMOSTAT_MODES[v.value] ?? v.value };
  },
  [CC.doorLock]: (v) =>
    // Door Lock mode 0xff is "secured"; every other mode leaves the bolt retracted in some way.
    v.property === 'currentMode' && typeof v.value === 'number'
      ? { name: 'locked', value: v.value === 0xff }
      : undefined,
  [CC.lock]: (v) => (v.property === 'locked' ? named('locked', v) : undefined),
  [CC.centralScene]: (v) => {
    // A key press is an event (zwave-js sends it as a `value notification`), read like a button's `action`.
    if (v.property !== 'scene' || typeof v.value !== 'number') return undefined;
    const key = SCENE_KEYS[v.value] ?? `Key${v.value}`;
    return { name: 'action', value: `scene${Number(v.propertyKey)}${key}` };
  },
};

/**
 * Maps one zwave-js value to a reading value, or `undefined` when it is not a reading (device metadata,
 * a request-side value such as `targetValue`, or a value with no content). Known values get stable names
 * from the tables above; everything else flows under a generic name built from the command class,
 * property and key, so nothing is lost silently. Values on endpoints > 0 get an `Ep<n>` suffix.
 */
export function mapValue(v: ZwaveValue): MappedValue | undefined {
  if (METADATA_CCS.has(v.commandClass)) return undefined;
  if (typeof v.property === 'string' && REQUEST_PROPERTIES.has(v.property)) return undefined;
  if (v.value === undefined) return undefined;
  const rule = RULES[v.commandClass];
  const ruled = rule === undefined ? genericValue(v) : rule(v);
  if (ruled === SKIP) return undefined;
  const mapped = ruled ?? leftoverValue(v);
  if (mapped === undefined) return undefined;
  return v.endpoint > 0 ? { ...mapped, name: `${mapped.name}Ep${v.endpoint}` } : mapped;
}

/** A value of a mapped command class that no rule claimed: scalars flow under the generic name. */
function leftoverValue(v: ZwaveValue): MappedValue | undefined {
  // Known command classes keep their bookkeeping values (`supportedSensorTypes`, `duration`) out of readings.
  return typeof v.value === 'object' && v.value !== null ? undefined : genericValue(v);
}

function genericValue(v: ZwaveValue): MappedValue {
  const key = v.propertyKeyName ?? v.propertyKey;
  const parts = [v.commandClassName, String(v.property), key === undefined ? '' : String(key)];
  return named(lowerCamel(parts.join(' ')), v);
}

function named(name: string, v: ZwaveValue, fallbackUnit?: string): MappedValue {
  const unit = v.unit ?? fallbackUnit;
  const mapped: MappedValue = { name, value: toValue(v.value) };
  if (unit !== undefined && unit !== '') mapped.unit = unit;
  return mapped;
}

function toValue(raw: unknown): Value {
  if (raw === null || typeof raw === 'number' || typeof raw === 'string' || typeof raw === 'boolean') {
    return raw;
  }
  // zwave-js reports some values as objects (durations, buffers): keep them readable rather than drop them.
  return JSON.stringify(raw) ?? null;
}

/** `Air temperature` → `airTemperature`, `Electric_kWh_Consumed` → `electricKWhConsumed`, `RFID` → `rfid`. */
export function lowerCamel(text: string): string {
  const upper = upperCamel(text);
  // A leading acronym is lowered whole (`RFID` → `rfid`, `ASCII` → `ascii`), not just its first letter.
  const acronym = /^[A-Z0-9]+(?=[A-Z][a-z]|$)/.exec(upper)?.[0] ?? upper.charAt(0);
  return acronym.toLowerCase() + upper.slice(acronym.length);
}

function upperCamel(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
