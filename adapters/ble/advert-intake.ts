import type { AdapterContext } from '../adapter.js';
import { errorMessage } from '../../src/errors.js';
import type { DeviceId, Reading } from '../../src/model.js';
import { AvailabilityTracker } from './availability.js';
import { decodeAdvertisement } from './decoders/index.js';
import { DeviceRegistry } from './device-registry.js';
import { DuplicateFilter } from './dedup.js';
import type { GattLink } from './gatt-link.js';
import type { NoblePeripheral } from './noble-types.js';
import type { BleOptions } from './options.js';
import type { BleStats } from './stats.js';

/** Readings waiting for the pipeline beyond this are dropped (and counted) rather than held without bound. */
const MAX_PENDING_EMITS = 1000;

/**
 * Turns what the scan hears into the gateway's vocabulary: decoded, de-duplicated readings from accepted
 * sensors, device info and availability, and wake-ups for devices that take commands. All radio-facing
 * state of a running adapter that outlives one noble instance lives here, so a reopened radio carries on.
 */
export class AdvertIntake {
  readonly registry: DeviceRegistry;
  private readonly availability: AvailabilityTracker;
  private readonly duplicates: DuplicateFilter;
  private readonly bindkeys = new Map<string, Buffer>();
  private readonly reachable = new Set<DeviceId>();
  private pendingEmits = 0;
  private emitChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: AdapterContext,
    options: BleOptions,
    private readonly links: ReadonlyMap<string, GattLink>,
    private readonly stats: BleStats,
  ) {
    this.registry = new DeviceRegistry(ctx.name, options);
    this.availability = new AvailabilityTracker(options.availability);
    this.duplicates = new DuplicateFilter(options.duplicateWindowMs);
    for (const device of options.devices) {
      if (device.bindkey !== undefined) this.bindkeys.set(device.address, Buffer.from(device.bindkey, 'hex'));
    }
  }

  /** One advertisement (noble `discover` event). Never throws. */
  onDiscover(peripheral: NoblePeripheral): void {
    const now = this.ctx.now();
    const address = peripheral.address.toLowerCase();
    const ad = peripheral.advertisement;
    const serviceData = ad.serviceData ?? [];
    const decoded = decodeAdvertisement(
      { address, serviceData, manufacturerData: ad.manufacturerData },
      this.bindkeys.get(address),
    );
    if (decoded?.ok === false) {
      this.countDrop(decoded.reason);
      this.ctx.log.debug(
        { address, format: decoded.format, reason: decoded.reason },
        'Dropped an undecodable advertisement.',
      );
    }
    const advert = decoded?.ok === true ? decoded.advert : undefined;
    // Counted here, before the device filter, like the undecodable ones: both are what the radio heard.
    const isEmpty = advert !== undefined && Object.keys(advert.values).length === 0;
    if (isEmpty) this.countDrop('empty');
    const sighting = {
      localName: ad.localName,
      format: advert?.format,
      firmware: advert?.firmware,
      valueNames: advert === undefined ? [] : Object.keys(advert.values),
      lastSeen: now,
    };
    if (!this.registry.isAccepted(address, ad.localName)) {
      this.registry.noteHeard(address, sighting);
      return;
    }

    const id = this.registry.idOf(address);
    this.availability.seen(id, now);
    const changed = this.registry.noteAccepted(address, sighting, 'online');
    if (changed !== undefined) this.ctx.deviceChanged(changed);
    this.links.get(address)?.attach(peripheral);
    if (peripheral.connectable) this.markReachable(id);
    if (advert === undefined || isEmpty) return;

    const payloadHex =
      serviceData.map((s) => s.data.toString('hex')).join('') + (ad.manufacturerData?.toString('hex') ?? '');
    if (this.duplicates.isDuplicate(id, { counter: advert.counter, payloadHex }, now)) {
      this.stats.duplicates++;
      return;
    }
    const reading: Reading = {
      device: id,
      ts: now,
      values: { ...advert.values, rssi: peripheral.rssi },
      units: { ...advert.units, rssi: 'dBm' },
    };
    if (advert.counter !== undefined) reading.seq = advert.counter;
    this.stats.readings++;
    this.emit(reading);
  }

  /** Values read or notified over GATT from a configured device. */
  onGattValues(address: string, values: Reading['values'], units: Record<string, string>): void {
    const id = this.registry.idOf(address);
    const now = this.ctx.now();
    this.availability.seen(id, now);
    const changed = this.registry.noteAccepted(
      address,
      { valueNames: Object.keys(values), lastSeen: now },
      'online',
    );
    if (changed !== undefined) this.ctx.deviceChanged(changed);
    this.stats.readings++;
    this.emit({ device: id, ts: now, values, units });
  }

  /** Connected or connectable devices take commands now; connected ones stay online while the link holds. */
  onConnectedChange(address: string, isConnected: boolean): void {
    const id = this.registry.idOf(address);
    if (isConnected) this.markReachable(id);
  }

  isReachable(id: DeviceId): boolean {
    const address = id.slice(this.ctx.name.length + 1);
    return this.links.get(address)?.isConnected === true || this.reachable.has(id);
  }

  /** Marks devices silent for longer than their learned interval allows as offline. */
  sweep(): void {
    const now = this.ctx.now();
    for (const info of this.registry.devices()) {
      if (info.lastSeen === 0) continue;
      const address = info.id.slice(this.ctx.name.length + 1);
      const isConnected = this.links.get(address)?.isConnected === true;
      const availability = isConnected ? 'online' : this.availability.availability(info.id, now);
      if (availability === 'offline') this.reachable.delete(info.id);
      const changed = this.registry.setAvailability(info.id, availability);
      if (changed !== undefined) this.ctx.deviceChanged(changed);
    }
  }

  /** Learned advertising interval of a device, for status output. */
  intervalMs(id: DeviceId): number | undefined {
    return this.availability.intervalMs(id);
  }

  /** Resolves when every reading handed to the pipeline so far has been accepted by it. */
  async drain(): Promise<void> {
    await this.emitChain;
  }

  private countDrop(reason: keyof BleStats['dropped']): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  private markReachable(id: DeviceId): void {
    if (this.reachable.has(id)) return;
    this.reachable.add(id);
    // Only devices with commands have anything waiting for them at the router.
    if ((this.registry.get(id)?.capabilities.commands.length ?? 0) > 0) this.ctx.deviceAwake(id);
  }

  /** Emits in order, one batch at a time: ctx.emit resolving is the back-pressure signal. */
  private emit(reading: Reading): void {
    if (this.pendingEmits >= MAX_PENDING_EMITS) {
      this.stats.backlogDrops++;
      return;
    }
    this.pendingEmits++;
    this.emitChain = this.emitChain
      .then(() => this.ctx.emit([reading]))
      .catch((e: unknown) =>
        this.ctx.log.error({ err: errorMessage(e) }, 'The pipeline refused a BLE reading.'),
      )
      .finally(() => {
        this.pendingEmits--;
      });
  }
}
