import { putValue, scaled, type DecodeResult, type DecodedAdvert } from './types.js';

/** The company ids Govee thermometers put in front of their manufacturer data (not all are Govee's own). */
const GOVEE_EC88 = 0xec88;
const GOVEE_0001 = 0x0001;
const GOVEE_8801 = 0x8801;

/** Whether manufacturer data (company id first) may be a Govee thermometer's; `decodeGovee` then decides. */
export function isGoveeCompany(companyId: number): boolean {
  return companyId === GOVEE_EC88 || companyId === GOVEE_0001 || companyId === GOVEE_8801;
}

/**
 * Decodes Govee thermo-hygrometers from manufacturer data, told apart by company id and length
 * (docs/radios.md#govee):
 *
 * - 0xEC88, 6 bytes after the id: H5072/H5075 — temperature and humidity packed into one big-endian
 *   24-bit number (top bit: below zero; value / 1000 is tenths of °C, value % 1000 tenths of %), battery %.
 * - 0xEC88, 7 bytes: H5074; 9 bytes: H5051 — s16 LE temperature × 0.01, u16 LE humidity × 0.01, battery.
 * - 0x0001, 6 bytes: H5101/H5102/H5104/H5177 — the packed 24-bit number at offset 4, battery after it.
 * - 0x8801, 9 bytes: H5179 — s16 LE temperature × 0.01, u16 LE humidity × 0.01, battery, at offset 6.
 *
 * @returns undefined when the data is none of these (company id 0x0001 is used by others too).
 */
export function decodeGovee(md: Buffer, localName: string | undefined): DecodeResult | undefined {
  const company = md.readUInt16LE(0);
  const advert = (model: string): DecodedAdvert => ({ format: 'govee', model, values: {}, units: {} });
  if (company === GOVEE_EC88 && md.length === 8) {
    const a = advert('H5075');
    packedClimate(a, md.readUIntBE(3, 3));
    putValue(a, 'battery', md.readUInt8(6), '%');
    return { ok: true, advert: a };
  }
  if (company === GOVEE_EC88 && (md.length === 9 || md.length === 11)) {
    const a = advert(md.length === 9 ? 'H5074' : 'H5051');
    littleEndianClimate(a, md, 3);
    return { ok: true, advert: a };
  }
  // The H5106 (PM2.5) sends this company id and length with another layout; it names itself GVH5106.
  if (company === GOVEE_0001 && md.length === 8 && localName?.startsWith('GVH5106') !== true) {
    const a = advert('H5101/H5102/H5177');
    packedClimate(a, md.readUIntBE(4, 3));
    putValue(a, 'battery', md.readUInt8(7), '%');
    return { ok: true, advert: a };
  }
  if (company === GOVEE_8801 && md.length === 11) {
    const a = advert('H5179');
    littleEndianClimate(a, md, 6);
    return { ok: true, advert: a };
  }
  return undefined;
}

function packedClimate(advert: DecodedAdvert, packed: number): void {
  const isBelowZero = (packed & 0x800000) !== 0;
  const value = packed & 0x7fffff;
  const tenths = Math.trunc(value / 1000);
  putValue(advert, 'temperature', scaled(isBelowZero ? -tenths : tenths, 0.1), '°C');
  putValue(advert, 'humidity', scaled(value % 1000, 0.1), '%');
}

function littleEndianClimate(advert: DecodedAdvert, md: Buffer, at: number): void {
  putValue(advert, 'temperature', scaled(md.readInt16LE(at), 0.01), '°C');
  putValue(advert, 'humidity', scaled(md.readUInt16LE(at + 2), 0.01), '%');
  putValue(advert, 'battery', md.readUInt8(at + 4), '%');
}
