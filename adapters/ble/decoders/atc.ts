import { macWireOrder, openCcm } from './ccm.js';
import { putValue, scaled, type DecodeResult, type DecodedAdvert, type KeyLookup } from './types.js';

/** Both custom firmwares for Xiaomi LYWSD03MMC-style thermometers advertise under 0x181A. */
export const ATC_UUID = '181a';

const ATC1441_LENGTH = 13;
const PVVX_LENGTH = 15;
const PVVX_ENCRYPTED_LENGTH = 11;
const MIC_BYTES = 4;
/** pvvx's encrypted formats authenticate one byte of associated data, 0x11. */
const ASSOCIATED_DATA = Buffer.from([0x11]);

/**
 * Decodes service data 0x181A from the ATC1441 and pvvx custom firmwares, told apart by length
 * (github.com/atc1441/ATC_MiThermometer, github.com/pvvx/ATC_MiThermometer "Custom format").
 *
 * - ATC1441, 13 bytes, big-endian: MAC[6], temperature s16 × 0.1 °C, humidity u8 %, battery u8 %,
 *   battery u16 mV, frame counter u8.
 * - pvvx, 15 bytes, little-endian: MAC[6] reversed, temperature s16 × 0.01 °C, humidity u16 × 0.01 %,
 *   battery u16 mV, battery u8 %, measurement counter u8, flags u8.
 * - pvvx encrypted, 11 bytes: counter u8, then AES-128-CCM ciphertext of temperature s16 × 0.01 °C,
 *   humidity u16 × 0.01 %, battery u8 %, flags u8, and a 4-byte MIC. The nonce is the reversed MAC and the
 *   AD structure's first five bytes (length, 0x16, the UUID little-endian, the counter).
 */
export function decodeAtc(data: Buffer, address: string, keyFor: KeyLookup): DecodeResult {
  if (data.length === PVVX_ENCRYPTED_LENGTH) return decodePvvxEncrypted(data, address, keyFor);
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

function decodePvvxEncrypted(data: Buffer, address: string, keyFor: KeyLookup): DecodeResult {
  const key = keyFor(address);
  if (key === undefined) return { ok: false, format: 'pvvx', reason: 'missingKey' };
  // The AD structure header as sent: its length byte counts the type and the UUID too.
  const header = Buffer.from([data.length + 3, 0x16, 0x1a, 0x18, data[0]!]);
  const plaintext = openCcm(
    key,
    Buffer.concat([macWireOrder(address), header]),
    data.subarray(1, data.length - MIC_BYTES),
    data.subarray(data.length - MIC_BYTES),
    ASSOCIATED_DATA,
  );
  if (plaintext?.length !== 6) return { ok: false, format: 'pvvx', reason: 'decryptFailed' };
  const advert: DecodedAdvert = { format: 'pvvx', values: {}, units: {} };
  putValue(advert, 'temperature', scaled(plaintext.readInt16LE(0), 0.01), '°C');
  putValue(advert, 'humidity', scaled(plaintext.readUInt16LE(2), 0.01), '%');
  putValue(advert, 'battery', plaintext.readUInt8(4), '%');
  advert.counter = data[0]!;
  advert.encryption = { counter: data[0]!, bits: 8 };
  return { ok: true, advert };
}
