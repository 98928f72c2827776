import { macFromWire } from './ccm.js';
import { putValue, scaled, type DecodeResult, type DecodedAdvert } from './types.js';

/** Qingping (ClearGrass) advertises under 0xFDCD. */
export const QINGPING_UUID = 'fdcd';

const MODELS: ReadonlyMap<number, string> = new Map([
  [0x01, 'CGG1'],
  [0x07, 'CGG1'],
  [0x09, 'CGP1W'],
  [0x0c, 'CGD1'],
  [0x12, 'CGPR1'],
  [0x18, 'CGP23W'],
  [0x33, 'CGP22C'],
  [0x5d, 'CGP22C'],
]);

/**
 * Decodes Qingping service data (docs/radios.md#qingping): frame byte, product id, the MAC reversed, then
 * (id, length, value) objects: 0x01 s16 temperature × 0.1 °C + u16 humidity × 0.1 %, 0x02 battery %,
 * 0x07 pressure u16 × 0.1 hPa, 0x08 motion u8 + illuminance u24 lx, 0x09 illuminance u32 lx, 0x0F packet id, 0x11
 * light, 0x12 PM2.5 + PM10, 0x13 CO2 ppm. Objects it does not know are skipped.
 */
export function decodeQingping(data: Buffer, address: string): DecodeResult {
  const drop = (reason: Extract<DecodeResult, { ok: false }>['reason']): DecodeResult => ({
    ok: false,
    format: 'qingping',
    reason,
  });
  if (data.length < 8) return drop('truncated');
  if (macFromWire(data.subarray(2, 8)) !== address) return drop('macMismatch');
  const advert: DecodedAdvert = { format: 'qingping', values: {}, units: {} };
  const model = MODELS.get(data[1]!);
  if (model !== undefined) advert.model = model;
  let at = 8;
  while (at + 2 <= data.length) {
    const id = data[at]!;
    const length = data[at + 1]!;
    const body = data.subarray(at + 2, at + 2 + length);
    if (body.length < length) return drop('truncated');
    at += 2 + length;
    if (id === 0x01 && length === 4) {
      putValue(advert, 'temperature', scaled(body.readInt16LE(0), 0.1), '°C');
      putValue(advert, 'humidity', scaled(body.readUInt16LE(2), 0.1), '%');
    } else if (id === 0x02 && length === 1) putValue(advert, 'battery', body.readUInt8(0), '%');
    else if (id === 0x07 && length === 2)
      putValue(advert, 'pressure', scaled(body.readUInt16LE(0), 0.1), 'hPa');
    else if (id === 0x08 && length === 4) {
      putValue(advert, 'motion', body.readUInt8(0) !== 0);
      putValue(advert, 'illuminance', body.readUIntLE(1, 3), 'lx');
    } else if (id === 0x09 && length === 4) putValue(advert, 'illuminance', body.readUInt32LE(0), 'lx');
    else if (id === 0x0f && length === 1) advert.counter = body.readUInt8(0);
    else if (id === 0x11 && length === 1) putValue(advert, 'light', body.readUInt8(0) !== 0);
    else if (id === 0x12 && length === 4) {
      putValue(advert, 'pm25', body.readUInt16LE(0), 'µg/m³');
      putValue(advert, 'pm10', body.readUInt16LE(2), 'µg/m³');
    } else if (id === 0x13 && length === 2) putValue(advert, 'co2', body.readUInt16LE(0), 'ppm');
    else advert.isPartial = true;
  }
  return { ok: true, advert };
}
