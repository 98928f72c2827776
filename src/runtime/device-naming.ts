import path from 'node:path';
import type { Config } from '../config/schema.js';
import { DeviceNames } from '../devices/device-names.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import { DeviceSettingsTable } from '../devices/device-settings.js';
import type { DeviceInfo } from '../model.js';

/**
 * The names devices go by, from three sources: what the radio announced, what an older `devices rename`
 * stored under the state dir (`device-names.json`), and the config's `devices:` section, which wins. Keeps
 * the device registry's names true when any of them changes. Also owns the `devices:` table in effect, which
 * the pipeline and the adapters read through `settings`.
 */
export class DeviceNaming {
  #names: DeviceNames | undefined;
  /** Config `devices:` in effect; a reload replaces it. */
  #settings: DeviceSettingsTable;
  /** Each device's name as its radio announced it (or an older `devices rename` stored it). */
  readonly #announcedNames = new Map<string, string | undefined>();
  readonly #devices: DeviceRegistry;

  constructor(devices: DeviceRegistry, config: Config['devices']) {
    this.#devices = devices;
    this.#settings = new DeviceSettingsTable(config);
  }

  /** The `devices:` table in effect; read it anew each time, a reload replaces it. */
  get settings(): DeviceSettingsTable {
    return this.#settings;
  }

  /** Loads the names stored under the state dir; called once at start, before any adapter announces. */
  async load(stateDir: string, config: Config['devices']): Promise<void> {
    const names = await DeviceNames.load(path.join(stateDir, 'device-names.json'));
    this.#names = names;
    this.#settings = new DeviceSettingsTable(config, (id) => names.nameOf(id));
  }

  /** What an adapter announced, with the name the device goes by; records the announced name. */
  announced(info: DeviceInfo): DeviceInfo {
    const stored = this.#names?.apply(info) ?? info;
    // A `devices:` entry keyed by a name applies to the device announced under that name.
    this.#announcedNames.set(stored.id, stored.name);
    this.#settings.announced(stored.id, stored.name);
    const configured = this.#settings.nameOf(stored.id);
    return configured === undefined ? stored : { ...stored, name: configured };
  }

  /** Applies a reloaded `devices:` section and names every known device again. */
  replaceSettings(config: Config['devices']): void {
    this.#settings = this.#settings.replaced(config);
    this.#refreshDeviceNames();
  }

  /** Gives a device an operator-chosen name; persisted under the state dir. Returns false for an unknown id. */
  async rename(id: string, name: string): Promise<boolean> {
    const entry = this.#devices.get(id);
    if (entry === undefined || this.#names === undefined) return false;
    await this.#names.set(id, name);
    this.#settings.forget(id);
    this.#devices.upsert(entry.adapter, this.#names.apply(entry.info));
    return true;
  }

  /** Forgets the stored name of a device the operator removed. */
  async forget(id: string): Promise<void> {
    await this.#names?.delete(id);
  }

  /** Every known device's name again, after the `devices:` section changed. */
  #refreshDeviceNames(): void {
    for (const info of this.#devices.list()) {
      const adapter = this.#devices.get(info.id)?.adapter;
      if (adapter === undefined) continue;
      const announced = this.#announcedNames.get(info.id);
      const name = this.#settings.nameOf(info.id) ?? announced;
      const { name: _old, ...rest } = info;
      this.#devices.upsert(adapter, name === undefined ? rest : { ...rest, name });
    }
  }
}
