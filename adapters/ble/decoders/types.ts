import type { Value } from '../../../src/model.js';

/** The parts of one advertisement that the decoders look at, as noble parsed them. */
export interface AdvertPayload {
  /** Lowercase, colon-separated MAC address of the advertiser. */
  address: string;
  /** The advertised local name, when the device sends one (some formats are recognised by it). */
  localName?: string | undefined;
  /** 16-bit service data, uuid as lowercase hex (`fcd2`, `181a`). */
  serviceData: { uuid: string; data: Buffer }[];
  /** Manufacturer-specific data including its leading 2-byte company id, when present. */
  manufacturerData?: Buffer | undefined;
  /**
   * Every manufacturer-specific data structure of the report, in order, when the radio layer saw them all
   * (noble's `manufacturerData` holds only the last: a Govee H5075 that appends an iBeacon structure).
   */
  manufacturerDataBlocks?: Buffer[] | undefined;
}

export type SensorFormat =
  | 'bthome'
  | 'bthomeV1'
  | 'mibeacon'
  | 'govee'
  | 'switchbot'
  | 'inkbird'
  | 'qingping'
  | 'ruuvi'
  | 'atc1441'
  | 'pvvx';

/**
 * Finds a device's encryption key by MAC address (lowercase, colon-separated). A decoder asks for the
 * address the packet names, which is the advertiser's unless the packet carries the device's own MAC.
 */
export type KeyLookup = (address: string) => Buffer | undefined;

/** What a decoder understood from one advertisement. */
export interface DecodedAdvert {
  format: SensorFormat;
  values: Record<string, Value>;
  units: Record<string, string>;
  /** The device's own packet counter, when the format carries one; equal counters mean a repeated packet. */
  counter?: number;
  firmware?: string;
  /** The model the packet names (`LYWSD03MMC`, `H5075`), when the format tells. */
  model?: string;
  /**
   * The device's own MAC when the packet carries it and it differs from the advertiser's (a device that
   * advertises from a random address); the gateway then knows the device by this one.
   */
  address?: string;
  /**
   * Set when the packet was encrypted and its MIC matched the device's key: the packet's counter, which
   * wraps after `bits` bits. A packet without this field was sent in the clear.
   */
  encryption?: { counter: number; bits: 8 | 32 };
  /** The packet held an object this decoder does not know; the values before it are kept. */
  isPartial?: boolean;
}

/** Why an advertisement in a known format could not be decoded; each reason is counted. */
export type DropReason =
  | 'truncated'
  | 'badLength'
  | 'unknownObject'
  | 'unsupportedVersion'
  | 'missingKey'
  | 'decryptFailed'
  | 'macMismatch';

export type DecodeResult =
  { ok: true; advert: DecodedAdvert } | { ok: false; format: SensorFormat; reason: DropReason };

/** Multiplies a raw integer by a scale, dropping binary floating-point noise (2506 × 0.01 is 25.06). */
export function scaled(raw: number, factor: number): number {
  return factor === 1 ? raw : Number((raw * factor).toFixed(6));
}

/** Adds a value under `name`, or `name2`, `name3`… when a packet carries the same measurement again. */
export function putValue(
  advert: Pick<DecodedAdvert, 'values' | 'units'>,
  name: string,
  value: Value,
  unit?: string,
): void {
  let key = name;
  for (let n = 2; key in advert.values; n++) key = `${name}${n}`;
  advert.values[key] = value;
  if (unit !== undefined) advert.units[key] = unit;
}
