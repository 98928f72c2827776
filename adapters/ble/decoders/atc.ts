import { putValue, scaled, type DecodeResult, type DecodedAdvert } from './types.js';

/** Both custom firmwares for Xiaomi LYWSD03MMC-style thermometers advertise under 0x181A. */
export const ATC_UUID = '181a';

const ATC1441_LENGTH = 13;
const PVVX_LENGTH = 15;

/**
 * Decodes service data 0x181A from the ATC1441 and pvvx custom firmwares, told apart by length
 * (github.com/atc1441/ATC_MiThermometer, github.com/pvvx/ATC_MiThermometer "Custom format").
 *
 * - ATC1441, 13 bytes, big-endian: MAC[6], temperature s16 × 0.1 °C, humidity u8 %, battery u8 %,
 *   battery u16 mV, frame counter u8.
 * - pvvx, 15 bytes, little-endian: MAC[6] reversed, temperature s16 × 0.01 °C, humidity u16 × 0.01 %,
 *   battery u16 mV, battery u8 %, measurement counter u8, flags u8.
 */
export function decodeAtc(data: Buffer): DecodeResult {
  if (data.length === ATC1441_LENGTH) {
    const advert: DecodedAdvert = { format: 'atc1441', values: {}, units: {} };
    putValue(advert, 'temperature', scaled(data.readInt16BE(6), 0.1), '°C');
    putValue(advert, 'humidity', data.readUInt8(8), '%');
    putValue(advert, 'battery', data.readUInt8(9), '%');
    putValue(advert, 'batteryVoltage', scaled(data.readUInt16BE(10), 0.001), 'V');
    advert.counter = data.readUInt8(12);
    return { ok: true, advert };
  }
  if (data.length === PVVX_LENGTH) {
    const advert: DecodedAdvert = { format: 'pvvx', values: {}, units: {} };
    putValue(advert, 'temperature', scaled(data.readInt16LE(6), 0.01), '°C');
    putValue(advert, 'humidity', scaled(data.readUInt16LE(8), 0.01), '%');
    putValue(advert, 'batteryVoltage', scaled(data.readUInt16LE(10), 0.001), 'V');
    putValue(advert, 'battery', data.readUInt8(12), '%');
    advert.counter = data.readUInt8(13);
    return { ok: true, advert };
  }
  return { ok: false, format: data.length < ATC1441_LENGTH ? 'atc1441' : 'pvvx', reason: 'badLength' };
}
