import { ATC_UUID, decodeAtc } from './atc.js';
import {
  BTHOME_UUID,
  BTHOME_V1_ENCRYPTED_UUID,
  BTHOME_V1_UUID,
  decodeBthome,
  decodeBthomeV1,
} from './bthome.js';
import { decodeGovee, isGoveeCompany } from './govee.js';
import { decodeInkbird } from './inkbird.js';
import { MIBEACON_UUID, decodeMibeacon } from './mibeacon.js';
import { QINGPING_UUID, decodeQingping } from './qingping.js';
import { RUUVI_COMPANY_ID, decodeRuuvi } from './ruuvi.js';
import { SWITCHBOT_UUIDS, decodeSwitchbot } from './switchbot.js';
import type { AdvertPayload, DecodeResult, KeyLookup } from './types.js';

export type {
  AdvertPayload,
  DecodeResult,
  DecodedAdvert,
  DropReason,
  KeyLookup,
  SensorFormat,
} from './types.js';

const NO_KEYS: KeyLookup = () => undefined;

/**
 * Finds the sensor format in one advertisement and decodes it. Pure; never throws.
 *
 * @param keyFor the encryption key of a device by MAC (BTHome, MiBeacon v4/v5, pvvx), when it has one.
 * @returns undefined when the advertisement carries no known sensor format (most of what a scan hears:
 *   phones, beacons, GATT devices' plain adverts), otherwise the decoded values or why they were dropped.
 */
export function decodeAdvertisement(
  advert: AdvertPayload,
  keyFor: KeyLookup = NO_KEYS,
): DecodeResult | undefined {
  const { address } = advert;
  for (const { uuid, data } of advert.serviceData) {
    if (uuid === BTHOME_UUID) return decodeBthome(data, address, keyFor);
    if (uuid === BTHOME_V1_UUID || uuid === BTHOME_V1_ENCRYPTED_UUID)
      return decodeBthomeV1(data, uuid === BTHOME_V1_ENCRYPTED_UUID, address, keyFor);
    if (uuid === ATC_UUID) return decodeAtc(data, address, keyFor);
    if (uuid === MIBEACON_UUID) return decodeMibeacon(data, address, keyFor);
    if (uuid === QINGPING_UUID) return decodeQingping(data, address);
    if (SWITCHBOT_UUIDS.includes(uuid)) {
      const switchbot = decodeSwitchbot(data);
      if (switchbot !== undefined) return switchbot;
    }
  }
  const blocks = advert.manufacturerDataBlocks ?? [];
  if (blocks.length === 0 && advert.manufacturerData !== undefined) blocks.push(advert.manufacturerData);
  for (const mfr of blocks) {
    const decoded = decodeManufacturerData(mfr, advert.localName);
    if (decoded !== undefined) return decoded;
  }
  return undefined;
}

/** One manufacturer-specific data structure (company id first), when it is a known sensor format. */
function decodeManufacturerData(mfr: Buffer, localName: string | undefined): DecodeResult | undefined {
  if (mfr.length < 2) return undefined;
  const inkbird = decodeInkbird(mfr, localName);
  if (inkbird !== undefined) return inkbird;
  const company = mfr.readUInt16LE(0);
  if (company === RUUVI_COMPANY_ID) return decodeRuuvi(mfr);
  if (isGoveeCompany(company)) return decodeGovee(mfr, localName);
  return undefined;
}
