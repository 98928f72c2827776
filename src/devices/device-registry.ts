import type { DeviceId, DeviceInfo } from '../model.js';

/**
 * The devices every adapter has announced, by id, with the name of the adapter that owns each. The runtime
 * keeps it current from `ctx.deviceChanged` / `ctx.deviceRemoved`; the command router and the control plane
 * read it.
 */
export class DeviceRegistry {
  readonly #devices = new Map<DeviceId, { info: DeviceInfo; adapter: string }>();

  upsert(adapter: string, info: DeviceInfo): { wasOnline: boolean } {
    const previous = this.#devices.get(info.id);
    this.#devices.set(info.id, { info, adapter });
    return { wasOnline: previous?.info.availability === 'online' };
  }

  remove(id: DeviceId): boolean {
    return this.#devices.delete(id);
  }

  get(id: DeviceId): { info: DeviceInfo; adapter: string } | undefined {
    return this.#devices.get(id);
  }

  list(adapter?: string): DeviceInfo[] {
    const all = [...this.#devices.values()];
    return (adapter === undefined ? all : all.filter((d) => d.adapter === adapter)).map((d) => d.info);
  }

  countByAvailability(): Record<DeviceInfo['availability'], number> {
    const counts = { online: 0, offline: 0, asleep: 0, unknown: 0 };
    for (const { info } of this.#devices.values()) counts[info.availability] += 1;
    return counts;
  }
}
