import type { Availability, DeviceId, DeviceInfo } from '../../src/model.js';
import { commandCapabilities } from './commands.js';
import type { SensorFormat } from './decoders/index.js';
import type { BleDeviceOptions, BleOptions } from './options.js';

/** The model shown when the packet does not name one. */
const MODELS: Record<SensorFormat, string> = {
  bthome: 'BTHome v2 sensor',
  bthomeV1: 'BTHome v1 sensor',
  mibeacon: 'Xiaomi MiBeacon sensor',
  govee: 'Govee thermometer',
  switchbot: 'SwitchBot meter',
  inkbird: 'Inkbird thermometer',
  qingping: 'Qingping sensor',
  ruuvi: 'RuuviTag',
  atc1441: 'Thermometer, ATC1441 firmware',
  pvvx: 'Thermometer, pvvx firmware',
};

/** Discovery keeps this many devices; phones rotate random addresses, so the least recently heard go. */
const MAX_HEARD = 500;

/** One device in `fieldgate devices --discovered`: what it is (or `unknown`), how loud, and if forwarded. */
export interface HeardDevice extends DeviceInfo {
  /** The advertising format it sends (`mibeacon`, `bthome`, …), or `unknown` when no decoder knows it. */
  family: SensorFormat | 'unknown';
  /** Signal strength of its last advertisement, dBm. */
  rssi: number;
  /** Whether the adapter forwards its readings (configured or allowed). */
  isForwarded: boolean;
}

/** What one advertisement tells about its sender. */
export interface Sighting {
  localName?: string | undefined;
  format?: SensorFormat | undefined;
  model?: string | undefined;
  firmware?: string | undefined;
  valueNames: string[];
  lastSeen: number;
}

/**
 * The devices this adapter reports: configured ones (known from the start) and allowed passive sensors
 * (added when first heard), plus, in discovery mode, the decodable sensors around that are not allowed.
 * Updates return the new DeviceInfo only when something a user would see changed, so the adapter calls
 * `ctx.deviceChanged` once per change rather than once per packet.
 */
export class DeviceRegistry {
  private readonly accepted = new Map<DeviceId, DeviceInfo>();
  private readonly heard = new Map<DeviceId, HeardDevice>();
  private readonly configuredByAddress: Map<string, BleDeviceOptions>;

  constructor(
    private readonly adapterName: string,
    private readonly options: Pick<BleOptions, 'devices' | 'allow' | 'discovery'>,
  ) {
    this.configuredByAddress = new Map(options.devices.map((d) => [d.address, d]));
    for (const device of options.devices) {
      const info = this.blank(this.idOf(device.address));
      if (device.name !== undefined) info.name = device.name;
      info.capabilities = {
        values: (device.gatt?.readings ?? []).map((r) => r.name),
        commands: commandCapabilities(device.gatt?.commands ?? []),
      };
      this.accepted.set(info.id, info);
    }
  }

  idOf(address: string): DeviceId {
    return `${this.adapterName}:${address}`;
  }

  configured(address: string): BleDeviceOptions | undefined {
    return this.configuredByAddress.get(address);
  }

  /** Configured, allowed by MAC, or allowed by advertised name (`ATC_*` matches a prefix). */
  isAccepted(address: string, localName: string | undefined): boolean {
    if (this.configuredByAddress.has(address) || this.options.allow.macs.includes(address)) return true;
    if (localName === undefined) return false;
    return this.options.allow.names.some((pattern) =>
      pattern.endsWith('*') ? localName.startsWith(pattern.slice(0, -1)) : localName === pattern,
    );
  }

  get(id: DeviceId): DeviceInfo | undefined {
    return this.accepted.get(id);
  }

  devices(): DeviceInfo[] {
    return [...this.accepted.values()].map((d) => structuredClone(d));
  }

  /** Every device heard, in any format or none, forwarded or not (discovery mode only). */
  discovered(): HeardDevice[] {
    return [...this.heard.values()].map((d) => structuredClone(d));
  }

  /** Record an accepted device's packet; returns its info when that changed what users see. */
  noteAccepted(address: string, sighting: Sighting, availability: Availability): DeviceInfo | undefined {
    const id = this.idOf(address);
    const info = this.accepted.get(id) ?? this.blank(id);
    this.accepted.set(id, info);
    const isChanged = apply(info, sighting, availability);
    info.lastSeen = sighting.lastSeen;
    return isChanged ? structuredClone(info) : undefined;
  }

  /** Record any device heard, when discovery is on. */
  noteHeard(
    address: string,
    sighting: Sighting & Pick<HeardDevice, 'family' | 'rssi' | 'isForwarded'>,
  ): void {
    if (!this.options.discovery) return;
    const id = this.idOf(address);
    const known = this.heard.get(id);
    const info: HeardDevice = known ?? { ...this.blank(id), family: 'unknown', rssi: 0, isForwarded: false };
    apply(info, sighting, 'online');
    info.lastSeen = sighting.lastSeen;
    info.rssi = sighting.rssi;
    info.isForwarded = sighting.isForwarded;
    // A device that once sent a known format keeps its family when an unrelated advert (a scan response,
    // an iBeacon frame) comes in between.
    if (sighting.family !== 'unknown' || known === undefined) info.family = sighting.family;
    // Re-inserted so the map's order is least recently heard first.
    this.heard.delete(id);
    this.heard.set(id, info);
    if (this.heard.size > MAX_HEARD) this.heard.delete(this.heard.keys().next().value!);
  }

  setAvailability(id: DeviceId, availability: Availability): DeviceInfo | undefined {
    const info = this.accepted.get(id);
    if (info === undefined || info.availability === availability) return undefined;
    info.availability = availability;
    return structuredClone(info);
  }

  private blank(id: DeviceId): DeviceInfo {
    return {
      id,
      adapter: this.adapterName,
      capabilities: { values: [], commands: [] },
      availability: 'unknown',
      lastSeen: 0,
      power: 'unknown',
    };
  }
}

function apply(info: DeviceInfo, sighting: Sighting, availability: Availability): boolean {
  let isChanged = info.availability !== availability;
  info.availability = availability;
  if (sighting.localName !== undefined && info.name === undefined) {
    info.name = sighting.localName;
    isChanged = true;
  }
  if (sighting.format !== undefined && info.model === undefined) {
    info.model = sighting.model ?? MODELS[sighting.format];
    // Every supported advertising format is a coin-cell or AAA sensor.
    info.power = 'battery';
    isChanged = true;
  }
  if (sighting.firmware !== undefined && info.firmware !== sighting.firmware) {
    info.firmware = sighting.firmware;
    isChanged = true;
  }
  const newNames = sighting.valueNames.filter((n) => !info.capabilities.values.includes(n));
  if (newNames.length > 0) {
    info.capabilities.values.push(...newNames);
    isChanged = true;
  }
  return isChanged;
}
