import { FieldgateError } from '../errors.js';
import type { DeviceId, DeviceInfo, Reading, Value } from '../model.js';

/** The last reading of one value of a device: what `fieldgate devices show` lists as current. */
export interface CurrentValue {
  value: Value;
  unit?: string;
  /** Epoch ms of the reading that carried it. */
  ts: number;
}

/**
 * The devices every adapter has announced, by id, with the name of the adapter that owns each. The runtime
 * keeps it current from `ctx.deviceChanged` / `ctx.deviceRemoved`, and from every reading an adapter emits
 * (`heard`): an adapter announces a device when it joins or changes availability, not per frame, so the last
 * time it was seen and its current values come from its readings. The command router and the control plane
 * read it.
 */
export class DeviceRegistry {
  readonly #devices = new Map<DeviceId, { info: DeviceInfo; adapter: string }>();
  /**
   * Per device: when it was last heard, and for each value name the reading that last carried it. The
   * readings themselves are kept (not copies): this runs for every reading, so it allocates nothing once a
   * device's value names are known.
   */
  readonly #heard = new Map<DeviceId, { lastSeen: number; byName: Map<string, Reading> }>();

  upsert(adapter: string, info: DeviceInfo): { wasOnline: boolean } {
    const previous = this.#devices.get(info.id);
    this.#devices.set(info.id, { info, adapter });
    return { wasOnline: previous?.info.availability === 'online' };
  }

  remove(id: DeviceId): boolean {
    this.#heard.delete(id);
    return this.#devices.delete(id);
  }

  /** Readings an adapter emitted: each known device's last-seen time and last value per value name. */
  heard(readings: readonly Reading[]): void {
    for (const reading of readings) {
      let heard = this.#heard.get(reading.device);
      if (heard === undefined) {
        if (!this.#devices.has(reading.device)) continue;
        this.#heard.set(reading.device, (heard = { lastSeen: 0, byName: new Map() }));
      }
      if (reading.ts > heard.lastSeen) heard.lastSeen = reading.ts;
      for (const name in reading.values) {
        const previous = heard.byName.get(name);
        if (previous === undefined || previous.ts <= reading.ts) heard.byName.set(name, reading);
      }
    }
  }

  get(id: DeviceId): { info: DeviceInfo; adapter: string } | undefined {
    const entry = this.#devices.get(id);
    return entry === undefined ? undefined : { info: this.#withHeard(entry.info), adapter: entry.adapter };
  }

  /** The last value of each value name the device reported, by name. */
  currentValues(id: DeviceId): Record<string, CurrentValue> {
    const current: Record<string, CurrentValue> = {};
    for (const [name, reading] of this.#heard.get(id)?.byName ?? []) {
      const value = reading.values[name];
      if (value === undefined) continue;
      const unit = reading.units?.[name];
      current[name] = unit === undefined ? { value, ts: reading.ts } : { value, unit, ts: reading.ts };
    }
    return current;
  }

  /**
   * The device id for what an operator typed: an id, else the name given with `devices rename` (exact, then
   * ignoring case). The one place a name becomes an id, so every verb that takes an id takes a name too.
   * @returns `undefined` when nothing matches (the caller reports "no device").
   * @throws FieldgateError `FG_USAGE` when a name fits several devices.
   */
  resolve(idOrName: string): DeviceId | undefined {
    if (this.#devices.has(idOrName)) return idOrName;
    const all = [...this.#devices.values()].map((d) => d.info);
    let matches = all.filter((d) => d.name === idOrName);
    if (matches.length === 0) {
      const lower = idOrName.toLowerCase();
      matches = all.filter((d) => d.name?.toLowerCase() === lower);
    }
    if (matches.length > 1)
      throw new FieldgateError(
        'FG_USAGE',
        `"${idOrName}" names ${matches.length} devices (${matches.map((d) => d.id).join(', ')}); use the id`,
      );
    return matches[0]?.id;
  }

  list(adapter?: string): DeviceInfo[] {
    const all = [...this.#devices.values()];
    return (adapter === undefined ? all : all.filter((d) => d.adapter === adapter)).map((d) =>
      this.#withHeard(d.info),
    );
  }

  countByAvailability(): Record<DeviceInfo['availability'], number> {
    const counts = { online: 0, offline: 0, asleep: 0, unknown: 0 };
    for (const { info } of this.#devices.values()) counts[info.availability] += 1;
    return counts;
  }

  #withHeard(info: DeviceInfo): DeviceInfo {
    const lastSeen = this.#heard.get(info.id)?.lastSeen ?? 0;
    return lastSeen > info.lastSeen ? { ...info, lastSeen } : info;
  }
}
