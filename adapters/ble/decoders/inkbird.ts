import { putValue, scaled, type DecodeResult, type DecodedAdvert } from './types.js';

/** Inkbird IBS-TH ("sps", with humidity) and IBS-TH2/P01B ("tps") name themselves so. */
const NAMES: ReadonlyMap<string, string> = new Map([
  ['sps', 'IBS-TH'],
  ['tps', 'IBS-TH2'],
]);
const LENGTH = 9;

/**
 * Decodes Inkbird IBS-TH/IBS-TH2 manufacturer data (docs/radios.md#inkbird). There is no company id: the
 * nine bytes are s16 LE temperature × 0.01 °C, u16 LE humidity × 0.01 %, probe (0 built-in, else the
 * external probe), two bytes, battery %, one byte. Recognised by the local name.
 *
 * @returns undefined when the name is not an Inkbird thermometer's.
 */
export function decodeInkbird(md: Buffer, localName: string | undefined): DecodeResult | undefined {
  const model = localName === undefined ? undefined : NAMES.get(localName);
  if (model === undefined) return undefined;
  if (md.length !== LENGTH) return { ok: false, format: 'inkbird', reason: 'badLength' };
  const advert: DecodedAdvert = { format: 'inkbird', model, values: {}, units: {} };
  const temperature = scaled(md.readInt16LE(0), 0.01);
  putValue(advert, md.readUInt8(4) === 0 ? 'temperature' : 'probeTemperature', temperature, '°C');
  if (model === 'IBS-TH') putValue(advert, 'humidity', scaled(md.readUInt16LE(2), 0.01), '%');
  putValue(advert, 'battery', md.readUInt8(7), '%');
  return { ok: true, advert };
}
