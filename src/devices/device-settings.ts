import type { DeviceSettings } from '../../adapters/adapter.js';
import type { DeviceEntry, DeviceFilter } from '../config/devices.js';
import type { Config } from '../config/schema.js';
import type { DeviceId } from '../model.js';

/** What the pipeline applies to one device's readings: its name, calibration, precision and filters. */
export interface DeviceProfile {
  readonly name?: string;
  readonly calibration?: Readonly<Record<string, number>>;
  readonly precision?: Readonly<Record<string, number>>;
  readonly filter?: DeviceFilter;
}

/** Where the pipeline and the adapters look up one device's settings; read at each use (a reload swaps it). */
export type DeviceProfileLookup = (id: DeviceId) => DeviceProfile | undefined;

/**
 * The `devices:` section resolved to device ids. An entry keyed by id applies to that device; an entry keyed
 * by a friendly name applies to the device whose announced name (the radio's, or one given by an older
 * `devices rename`) is that name, once it has announced itself (`announced`). Where both exist, the id's
 * entry wins field by field. Immutable apart from the name bindings; a reload builds a new table.
 */
export class DeviceSettingsTable {
  readonly #byId: ReadonlyMap<DeviceId, DeviceEntry>;
  /** Lower-cased name key → entry. */
  readonly #byName: ReadonlyMap<string, DeviceEntry>;
  /** Device id → the name-keyed entry its announced name matched. */
  readonly #bound = new Map<DeviceId, DeviceEntry>();
  readonly #profiles = new Map<DeviceId, DeviceProfile | undefined>();
  readonly #legacyName: (id: DeviceId) => string | undefined;

  /** Announced names, kept so a reloaded table binds name-keyed entries at once. */
  readonly #announced = new Map<DeviceId, string | undefined>();

  constructor(
    devices: Config['devices'],
    legacyName: (id: DeviceId) => string | undefined = () => undefined,
  ) {
    const byId = new Map<DeviceId, DeviceEntry>();
    const byName = new Map<string, DeviceEntry>();
    for (const [key, entry] of Object.entries(devices)) {
      if (key.includes(':')) byId.set(key, entry);
      else byName.set(key.toLowerCase(), { ...entry, name: key });
    }
    this.#byId = byId;
    this.#byName = byName;
    this.#legacyName = legacyName;
  }

  /** True when any device has filters of its own (the filter stage then keeps per-device state). */
  get hasFilters(): boolean {
    return [...this.#byId.values(), ...this.#byName.values()].some((e) => e.filter !== undefined);
  }

  /** The same devices and stored names with a new `devices:` section (a reload). */
  replaced(devices: Config['devices']): DeviceSettingsTable {
    const next = new DeviceSettingsTable(devices, this.#legacyName);
    for (const [id, name] of this.#announced) next.announced(id, name);
    return next;
  }

  /** Drops what is cached for a device whose stored name changed. */
  forget(id: DeviceId): void {
    this.#profiles.delete(id);
  }

  /** A device announced itself under `name` (radio or stored name): binds it to a name-keyed entry. */
  announced(id: DeviceId, name: string | undefined): void {
    this.#announced.set(id, name);
    const entry = name === undefined ? undefined : this.#byName.get(name.toLowerCase());
    if (entry === this.#bound.get(id)) return;
    if (entry === undefined) this.#bound.delete(id);
    else this.#bound.set(id, entry);
    this.#profiles.delete(id);
  }

  /** The operator's name for a device: from `devices:`, else one stored by an older `devices rename`. */
  nameOf(id: DeviceId): string | undefined {
    return this.#byId.get(id)?.name ?? this.#bound.get(id)?.name ?? this.#legacyName(id);
  }

  /** What the pipeline applies to the device's readings; undefined when nothing. Cached per device. */
  profile(id: DeviceId): DeviceProfile | undefined {
    if (this.#profiles.has(id)) return this.#profiles.get(id);
    const profile = this.#resolve(id);
    this.#profiles.set(id, profile);
    return profile;
  }

  /** The radio's view (`AdapterContext.deviceSettings`): radio fields come only from entries keyed by id. */
  radioSettings(id: DeviceId): DeviceSettings | undefined {
    const entry = this.#byId.get(id);
    const name = this.nameOf(id);
    if (entry === undefined && name === undefined) return undefined;
    const settings: {
      -readonly [K in keyof DeviceSettings]: DeviceSettings[K];
    } = {};
    if (name !== undefined) settings.name = name;
    if (entry?.converterOptions !== undefined) settings.converterOptions = entry.converterOptions;
    // zod leaves an absent `change` absent; its output type only says it could be undefined.
    if (entry?.reporting !== undefined)
      settings.reporting = entry.reporting as NonNullable<DeviceSettings['reporting']>;
    if (entry?.configuration !== undefined) settings.configuration = entry.configuration;
    if (entry?.bindkey !== undefined) settings.bindkey = entry.bindkey;
    return settings;
  }

  #resolve(id: DeviceId): DeviceProfile | undefined {
    const byId = this.#byId.get(id);
    const byName = this.#bound.get(id);
    const name = this.nameOf(id);
    if (byId === undefined && byName === undefined) return name === undefined ? undefined : { name };
    const merged = <T extends object>(a: T | undefined, b: T | undefined): T | undefined =>
      a === undefined ? b : b === undefined ? a : { ...a, ...b };
    const profile: {
      -readonly [K in keyof DeviceProfile]: DeviceProfile[K];
    } = {};
    if (name !== undefined) profile.name = name;
    const calibration = merged(byName?.calibration, byId?.calibration);
    if (calibration !== undefined) profile.calibration = calibration;
    const precision = merged(byName?.precision, byId?.precision);
    if (precision !== undefined) profile.precision = precision;
    const filter = merged(byName?.filter, byId?.filter);
    if (filter !== undefined) {
      const deadband = merged(byName?.filter?.deadband, byId?.filter?.deadband);
      profile.filter = deadband === undefined ? filter : { ...filter, deadband };
    }
    return profile;
  }
}
