import { z } from 'zod';
import { secret } from './secret-fields.js';

/**
 * The `devices:` section (docs/configuration.md#devices): per-device settings keyed by device id
 * (`<adapter>:<native id>`) or by a friendly name. The pipeline applies names, calibration, precision and
 * filters; a radio reads its own fields through `AdapterContext.deviceSettings`.
 */

const ms = (description: string) => z.number().int().nonnegative().describe(description);
const valueName = z.string().min(1);

/**
 * A name appears in topics and cloud identities: no MQTT wildcard, no control character, nothing that
 * reads as a device id (a `:`), and no blank at either end (it would be lost when typed on a command line).
 */
export const deviceName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\s+#:\p{Cc}](?:[^+#:\p{Cc}]*[^\s+#:\p{Cc}])?$/u, {
    message: 'a name may not contain + # : or control characters, nor start or end with a blank',
  });

export const deviceFilter = z
  .strictObject({
    deadband: z
      .record(valueName, z.number().nonnegative())
      .optional()
      .describe('Per value name; overrides `pipeline.filter.deadband` for that value of this device.'),
    minIntervalMs: ms('Per value: forward at most once per interval (overrides the global one).').optional(),
    reportOnChange: z.boolean().optional().describe('Forward a value only when it changed (overrides).'),
    heartbeatMs: ms(
      'With deadband or reportOnChange: forward unchanged values this often (overrides).',
    ).optional(),
    debounceMs: ms(
      'Hold readings until the device was quiet this long, then forward them merged (newest value wins); events pass at once.',
    ).optional(),
    throttleMs: ms(
      'Forward at most one reading per interval; the readings in between are dropped.',
    ).optional(),
  })
  .describe('Filters for this device; each key overrides the one in `pipeline.filter`.');

const reporting = z
  .strictObject({
    minIntervalS: z.number().int().min(0).max(65535).describe('Report at most this often (seconds).'),
    maxIntervalS: z.number().int().min(0).max(65535).describe('Report at least this often (seconds).'),
    change: z.number().nonnegative().optional().describe('The reportable change, in the value’s unit.'),
  })
  .refine((r) => r.minIntervalS <= r.maxIntervalS, {
    message: 'minIntervalS must not exceed maxIntervalS',
    path: ['minIntervalS'],
  });

export const deviceEntry = z
  .strictObject({
    name: deviceName
      .optional()
      .describe('Friendly name: in readings (`name`), topics (`{name}`) and `devices`; the id stays.'),
    filter: deviceFilter.optional(),
    calibration: z
      .record(valueName, z.number().refine(Number.isFinite, 'expected a finite number'))
      .optional()
      .describe('Per value name: an offset added to every numeric value (temperature: -0.5).'),
    precision: z
      .record(valueName, z.number().int().min(0).max(10))
      .optional()
      .describe('Per value name: decimal places numeric values are rounded to.'),
    converterOptions: z
      .record(z.string().min(1), z.unknown())
      .optional()
      .describe('Zigbee: options for the device’s converter definition (`transition`, `color_sync`, …).'),
    reporting: z
      .record(valueName, reporting)
      .optional()
      .describe('Zigbee: attribute reporting per value name.'),
    configuration: z
      .record(
        z.string().regex(/^(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-5])$/, 'expected a parameter number (1–255)'),
        z.number().int(),
      )
      .optional()
      .describe('Z-Wave: configuration parameters to set, parameter number → value.'),
    bindkey: secret(z.string().regex(/^[0-9a-f]{32}$/i, 'expected 32 hex digits'))
      .optional()
      .describe('BLE: the device’s encryption key (MiBeacon v4/v5, BTHome v2, pvvx); use `!secret`.'),
  })
  .describe('Settings for one device.');

export const devicesSection = z
  .record(z.string().min(1), deviceEntry)
  .default({})
  .describe('Per-device settings, keyed by device id (`zigbee:0x00158d0001a2b3c4`) or friendly name.');

export type DeviceEntry = z.output<typeof deviceEntry>;
export type DeviceFilter = z.output<typeof deviceFilter>;

/** Which radio type each radio-specific field belongs to. */
export const RADIO_FIELDS: Readonly<Record<string, string>> = {
  converterOptions: 'zigbee',
  reporting: 'zigbee',
  configuration: 'zwave',
  bindkey: 'ble',
};

/** A problem the schema cannot see alone: it needs the `adapters:` section beside `devices:`. */
export interface DevicesProblem {
  path: (string | number)[];
  message: string;
  at: 'key' | 'value';
}

/**
 * Checks the keys of `devices:` against `adapters:` in the document as written (before validation, so the
 * problems are reported together with every other one): an id's adapter must exist, a radio field must
 * belong to that adapter's radio, a friendly-name key cannot carry radio fields (which radio it is on is
 * not known until the device shows up), and no two entries may share a name.
 */
export function checkDevices(input: unknown): DevicesProblem[] {
  if (!isObject(input) || !isObject(input.devices)) return [];
  const adapters = isObject(input.adapters) ? input.adapters : {};
  const problems: DevicesProblem[] = [];
  const names = new Map<string, string>();
  for (const [key, entry] of Object.entries(input.devices)) {
    const colon = key.indexOf(':');
    const adapter = colon === -1 ? undefined : key.slice(0, colon);
    if (adapter !== undefined) {
      const known = Object.keys(adapters).sort();
      if (!Object.hasOwn(adapters, adapter)) {
        problems.push({
          path: ['devices', key],
          message: `unknown adapter "${adapter}" in device id "${key}"; expected one of ${known.join(', ') || '(no adapters configured)'}`,
          at: 'key',
        });
      } else if (colon === key.length - 1) {
        problems.push({
          path: ['devices', key],
          message: `device id "${key}" has no native id after ":"`,
          at: 'key',
        });
      }
    }
    if (!isObject(entry)) continue;
    const adapterConfig = adapter === undefined ? undefined : adapters[adapter];
    const type =
      isObject(adapterConfig) && typeof adapterConfig.type === 'string' ? adapterConfig.type : undefined;
    for (const [field, radio] of Object.entries(RADIO_FIELDS)) {
      if (!(field in entry)) continue;
      if (adapter === undefined) {
        problems.push({
          path: ['devices', key, field],
          message: `${field} is a ${radio} setting: key this entry by the device id (${radio}-adapter:…), not by a name`,
          at: 'key',
        });
      } else if (type !== undefined && type !== radio) {
        problems.push({
          path: ['devices', key, field],
          message: `${field} is a ${radio} setting, but adapter "${adapter}" is ${type}`,
          at: 'key',
        });
      }
    }
    const name = adapter === undefined ? key : typeof entry.name === 'string' ? entry.name : undefined;
    if (name === undefined) continue;
    const other = names.get(name.toLowerCase());
    if (other !== undefined) {
      problems.push({
        path: adapter === undefined ? ['devices', key] : ['devices', key, 'name'],
        message: `the name "${name}" is already given to ${other}; names must be unique (case is ignored)`,
        at: adapter === undefined ? 'key' : 'value',
      });
    } else {
      names.set(name.toLowerCase(), adapter === undefined ? `the entry "${key}"` : key);
    }
    if (adapter === undefined) {
      const invalid = deviceName.safeParse(key);
      if (!invalid.success)
        problems.push({
          path: ['devices', key],
          message: `invalid name "${key}": ${invalid.error.issues[0]?.message ?? ''}`,
          at: 'key',
        });
      if (typeof entry.name === 'string' && entry.name !== key)
        problems.push({
          path: ['devices', key, 'name'],
          message: `an entry keyed by a name cannot rename it; key it by the device id to give it "${entry.name}"`,
          at: 'value',
        });
    }
  }
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
