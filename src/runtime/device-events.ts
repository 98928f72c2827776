import type { AdapterHostSinks } from '../adapter-host.js';
import type { CommandRouter } from '../commands/router.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { Logger } from '../logger.js';
import type { DeviceId, DeviceInfo, Reading } from '../model.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { DeviceNaming } from './device-naming.js';
import type { Routes } from './routes.js';

export type DeviceListener = (event: 'changed' | 'removed', info: DeviceInfo) => void;

export interface DeviceEventsOptions {
  devices: DeviceRegistry;
  naming: DeviceNaming;
  routes: Routes;
  log: Logger;
  /** The command router once built; commands wait for a device to wake. */
  router: () => CommandRouter | undefined;
  /** The pipeline once built (adapters start after it). */
  pipeline: () => Pipeline | undefined;
}

/**
 * Where every adapter's output goes: readings into the pipeline; announcements into the device registry
 * (named by `DeviceNaming`), to the listeners (pairing progress), the command router (a device woke) and
 * every route's upstream (device twins and shadows).
 */
export class DeviceEvents implements AdapterHostSinks {
  /** Devices an adapter announces while starting are known ones, counted in "Adapter started."; later ones joined. */
  isAnnouncingJoins = false;
  readonly #listeners = new Set<DeviceListener>();
  readonly #options: DeviceEventsOptions;

  constructor(options: DeviceEventsOptions) {
    this.#options = options;
  }

  /** Subscribe to device announcements (pairing progress); returns the unsubscribe function. */
  onDevice(listener: DeviceListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async emit(readings: Reading[]): Promise<void> {
    this.#options.devices.heard(readings);
    return this.#options.pipeline()?.push(readings);
  }

  deviceChanged(adapter: string, announced: DeviceInfo): void {
    const { devices, naming, routes, log } = this.#options;
    const info = naming.announced(announced);
    const isNew = devices.get(info.id) === undefined;
    devices.upsert(adapter, info);
    if (isNew && this.isAnnouncingJoins)
      log.info({ device: info.id, adapter, model: info.model }, 'Device joined.');
    for (const listener of this.#listeners) listener('changed', info);
    if (info.availability === 'online') this.#options.router()?.deviceAwake(info.id);
    for (const route of routes.all) route.upstream.onDeviceState?.(info);
  }

  deviceRemoved(id: DeviceId): void {
    const { devices, log } = this.#options;
    const entry = devices.get(id);
    devices.remove(id);
    if (entry === undefined) return;
    log.info({ device: id, adapter: entry.adapter }, 'Device left.');
    for (const listener of this.#listeners) listener('removed', entry.info);
  }

  deviceAwake(id: DeviceId): void {
    this.#options.router()?.deviceAwake(id);
  }
}
