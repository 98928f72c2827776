import { ATC_UUID, decodeAtc } from './atc.js';
import { BTHOME_UUID, decodeBthome } from './bthome.js';
import { RUUVI_COMPANY_ID, decodeRuuvi } from './ruuvi.js';
import type { AdvertPayload, DecodeResult } from './types.js';

export type { AdvertPayload, DecodeResult, DecodedAdvert, DropReason, SensorFormat } from './types.js';

/**
 * Finds the sensor format in one advertisement and decodes it. Pure; never throws.
 *
 * @param bindkey the device's BTHome key, when it has one.
 * @returns undefined when the advertisement carries no known sensor format (most of what a scan hears:
 *   phones, beacons, GATT devices' plain adverts), otherwise the decoded values or why they were dropped.
 */
export function decodeAdvertisement(advert: AdvertPayload, bindkey?: Buffer): DecodeResult | undefined {
  for (const { uuid, data } of advert.serviceData) {
    if (uuid === BTHOME_UUID) return decodeBthome(data, advert.address, bindkey);
    if (uuid === ATC_UUID) return decodeAtc(data);
  }
  const mfr = advert.manufacturerData;
  if (mfr !== undefined && mfr.length >= 2 && mfr.readUInt16LE(0) === RUUVI_COMPANY_ID)
    return decodeRuuvi(mfr);
  return undefined;
}
