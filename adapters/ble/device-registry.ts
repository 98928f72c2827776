import type { Availability, DeviceId, DeviceInfo } from '../../src/model.js';
import { commandCapabilities } from './commands.js';
import type { SensorFormat } from './decoders/index.js';
import type { BleDeviceOptions, BleOptions } from './options.js';

const MODELS: Record<SensorFormat, string> = {
  bthome: 'BTHome v2 sensor',
  ruuvi: 'RuuviTag (data format 5)',
  atc1441: 'Thermometer, ATC1441 firmware',
  pvvx: 'Thermometer, pvvx firmware',
};

/** What one advertisement tells about its sender. */
export interface Sighting {
  localName?: string | undefined;
  format?: SensorFormat | undefined;
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
  private readonly heard = new Map<DeviceId, DeviceInfo>();
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

  /** Decodable sensors heard that are not accepted (discovery mode only). */
  discovered(): DeviceInfo[] {
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

  /** Record a decodable but unaccepted sensor, when discovery is on. */
  noteHeard(address: string, sighting: Sighting): void {
    if (!this.options.discovery || sighting.format === undefined) return;
    const id = this.idOf(address);
    const info = this.heard.get(id) ?? this.blank(id);
    apply(info, sighting, 'online');
    info.lastSeen = sighting.lastSeen;
    this.heard.set(id, info);
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
    info.model = MODELS[sighting.format];
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
