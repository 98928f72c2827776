import type { AdapterContext } from '../adapter.js';
import { manufacturerDataBlocks } from './ad-structures.js';
import { errorMessage } from '../../src/errors.js';
import type { DeviceId, Reading } from '../../src/model.js';
import { AvailabilityTracker } from './availability.js';
import { decodeAdvertisement } from './decoders/index.js';
import { DeviceRegistry } from './device-registry.js';
import { DuplicateFilter } from './dedup.js';
import type { GattLink } from './gatt-link.js';
import type { NoblePeripheral } from './noble-types.js';
import { PacketGuard, keyIdOf, type GuardVerdict } from './packet-guard.js';
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
  /** Keys from the adapter's own `devices[].bindkey`; `devices:` settings, read at each use, win. */
  private readonly configuredKeys = new Map<string, string>();
  private readonly keyBytes = new Map<string, Buffer>();
  private readonly keyIds = new Map<string, string>();
  /** Encrypted-only and replay protection; its counter marks are what the adapter keeps across restarts. */
  readonly guard: PacketGuard;
  /** Devices that gave at least one reading; an allowed device that never did is worth a warning. */
  private readonly decodedOnce = new Set<DeviceId>();
  /** Warnings given this episode, `<id> <reason>`, so each is logged once rather than per packet. */
  private readonly warned = new Set<string>();
  private readonly reachable = new Set<DeviceId>();
  /** Every manufacturer-data structure of the report noble is about to turn into a `discover`, by MAC. */
  private readonly rawBlocks = new Map<string, Buffer[]>();
  private pendingEmits = 0;
  private emitChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: AdapterContext,
    options: BleOptions,
    private readonly links: ReadonlyMap<string, GattLink>,
    private readonly stats: BleStats,
    guard: PacketGuard = new PacketGuard(),
  ) {
    this.guard = guard;
    this.registry = new DeviceRegistry(ctx.name, options);
    this.availability = new AvailabilityTracker(options.availability);
    this.duplicates = new DuplicateFilter(options.duplicateWindowMs);
    for (const device of options.devices) {
      if (device.bindkey !== undefined) this.configuredKeys.set(device.address, device.bindkey);
    }
  }

  /** The device's key by MAC: `devices:` settings first (they change on reload), then the adapter's list. */
  readonly keyFor = (address: string): Buffer | undefined => {
    const hex =
      this.ctx.deviceSettings?.(this.registry.idOf(address))?.bindkey ?? this.configuredKeys.get(address);
    if (hex === undefined) return undefined;
    let key = this.keyBytes.get(hex);
    if (key === undefined) {
      // A malformed key gives a buffer that is not 16 bytes: every packet then fails its MIC, none is trusted.
      key = Buffer.from(hex, 'hex');
      this.keyBytes.set(hex, key);
    }
    return key;
  };

  /** Names the device's key for the replay marks (a digest, never the key), undefined when it has none. */
  private keyIdFor(address: string): string | undefined {
    const key = this.keyFor(address);
    if (key === undefined) return undefined;
    const hex = key.toString('hex');
    let keyId = this.keyIds.get(hex);
    if (keyId === undefined) {
      keyId = keyIdOf(key);
      this.keyIds.set(hex, keyId);
    }
    return keyId;
  }

  /** One raw advertising report, heard just before noble's `discover` for it (see radio.ts). */
  onRawReport(address: string, data: Buffer): void {
    // Normally taken at once by onDiscover; reports noble never turns into one (not scanning) are let go.
    if (this.rawBlocks.size >= 1000) this.rawBlocks.clear();
    this.rawBlocks.set(address.toLowerCase(), manufacturerDataBlocks(data));
  }

  /** One advertisement (noble `discover` event). Never throws. */
  onDiscover(peripheral: NoblePeripheral): void {
    const now = this.ctx.now();
    const address = peripheral.address.toLowerCase();
    const ad = peripheral.advertisement;
    const serviceData = ad.serviceData ?? [];
    const blocks = this.rawBlocks.get(address) ?? [];
    this.rawBlocks.delete(address);
    const manufacturerData =
      blocks.length > 0 ? blocks : ad.manufacturerData === undefined ? [] : [ad.manufacturerData];
    const decoded = decodeAdvertisement(
      {
        address,
        localName: ad.localName,
        serviceData,
        manufacturerData: ad.manufacturerData,
        manufacturerDataBlocks: manufacturerData,
      },
      this.keyFor,
    );
    if (decoded?.ok === false) {
      this.countDrop(decoded.reason);
      this.ctx.log.debug(
        { address, format: decoded.format, reason: decoded.reason },
        'Dropped an undecodable advertisement.',
      );
    }
    const advert = decoded?.ok === true ? decoded.advert : undefined;
    // Still a reading (the values before the unknown object), but what followed it is lost: a drop reason.
    if (advert?.isPartial === true) this.countDrop('cutAtUnknownObject');
    // A device that advertises from a random address names its own MAC in the packet; it is known by that.
    const deviceAddress = advert?.address ?? address;
    // Counted here, before the device filter, like the undecodable ones: both are what the radio heard.
    const isEmpty = advert !== undefined && Object.keys(advert.values).length === 0;
    if (isEmpty) this.countDrop('empty');
    const sighting = {
      localName: ad.localName,
      format: advert?.format,
      model: advert?.model,
      firmware: advert?.firmware,
      valueNames: advert === undefined ? [] : Object.keys(advert.values),
      lastSeen: now,
    };
    const isAccepted = this.registry.isAccepted(deviceAddress, ad.localName);
    this.registry.noteHeard(deviceAddress, {
      ...sighting,
      family: decoded === undefined ? 'unknown' : decoded.ok ? decoded.advert.format : decoded.format,
      rssi: peripheral.rssi,
      isForwarded: isAccepted,
    });
    if (!isAccepted) return;

    const id = this.registry.idOf(deviceAddress);
    const payloadHex =
      serviceData.map((s) => s.data.toString('hex')).join('') +
      manufacturerData.map((m) => m.toString('hex')).join('');
    let verdict: GuardVerdict | undefined;
    if (advert !== undefined && !isEmpty) {
      verdict = this.guard.check(id, this.keyIdFor(deviceAddress), advert, payloadHex, now);
      if (verdict === 'notEncrypted' || verdict === 'replayed') {
        this.refuse(id, verdict);
        return;
      }
      if (verdict === 'restarted')
        this.ctx.log.info(
          { device: id, counter: advert.encryption?.counter },
          'Trusting a BLE device again after its counter started over (a restart, e.g. a battery change).',
        );
      // A fresh authentic packet ends the episode: the next refusal is worth a warning again.
      if (verdict === 'accept' || verdict === 'restarted') {
        this.warned.delete(`${id} notEncrypted`);
        this.warned.delete(`${id} replayed`);
      }
    }
    this.availability.seen(id, now);
    const changed = this.registry.noteAccepted(deviceAddress, sighting, 'online');
    if (changed !== undefined) this.ctx.deviceChanged(changed);
    this.links.get(deviceAddress)?.attach(peripheral);
    if (peripheral.connectable) this.markReachable(id);
    if (decoded === undefined) this.noteUndecoded(id, deviceAddress, ad.localName);
    if (advert === undefined || isEmpty) return;

    // A repeat of the last accepted encrypted packet is a duplicate even when the filter has not seen it
    // (the packet was accepted before a restart).
    const isRepeat = verdict === 'repeat';
    if (this.duplicates.isDuplicate(id, { counter: advert.counter, payloadHex }, now) || isRepeat) {
      this.stats.duplicates++;
      return;
    }
    this.decodedOnce.add(id);
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

  /** A packet from a keyed device refused: counted, and a warning once until the device is trusted again. */
  private refuse(id: DeviceId, reason: 'notEncrypted' | 'replayed'): void {
    this.countDrop(reason);
    if (this.warned.has(`${id} ${reason}`)) return;
    this.warned.add(`${id} ${reason}`);
    this.ctx.log.warn(
      { device: id, reason },
      reason === 'notEncrypted'
        ? 'Refused an unencrypted BLE packet from a device that has a key; only encrypted packets are trusted from it.'
        : 'Refused a BLE packet whose counter is not newer than the last accepted one: a replayed packet, or the device restarted (then it is trusted again once its new counter keeps rising; see docs/radios.md#keys).',
    );
  }

  /** An allowed device's advertisement in no format the adapter knows: counted, warned about once. */
  private noteUndecoded(id: DeviceId, address: string, localName: string | undefined): void {
    // Devices read over GATT advertise only to be found; their adverts are not expected to carry values.
    if (this.registry.configured(address)?.gatt !== undefined) return;
    this.countDrop('undecoded');
    if (this.decodedOnce.has(id) || this.warned.has(`${id} undecoded`)) return;
    this.warned.add(`${id} undecoded`);
    this.ctx.log.warn(
      { device: id, localName },
      'An allowed BLE device sends advertisements in no supported format; it gives no readings (see docs/radios.md#bluetooth-le).',
    );
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
