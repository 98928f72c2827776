import { macFromWire, macWireOrder, openCcm } from './ccm.js';
import { putValue, scaled, type DecodeResult, type DecodedAdvert, type KeyLookup } from './types.js';

/** Xiaomi's service data UUID 0xFE95. */
export const MIBEACON_UUID = 'fe95';

const FRAME_ENCRYPTED = 0x0008;
const FRAME_MAC_INCLUDED = 0x0010;
const FRAME_CAPABILITY_INCLUDED = 0x0020;
const FRAME_OBJECT_INCLUDED = 0x0040;
const FRAME_MESH = 0x0080;
const CAPABILITY_IO = 0x20;
/** MiBeacon v4/v5 encryption authenticates one byte of associated data, 0x11. */
const ASSOCIATED_DATA = Buffer.from([0x11]);
const EXT_COUNTER_BYTES = 3;
const MIC_BYTES = 4;

/** Product ids of the sensors people own most, for `model` (the full list is Xiaomi's; unknown ids decode too). */
const MODELS: ReadonlyMap<number, string> = new Map([
  [0x0098, 'HHCCJCY01'],
  [0x015d, 'HHCCPOT002'],
  [0x01aa, 'LYWSDCGQ'],
  [0x0347, 'CGG1'],
  [0x0387, 'MHO-C401'],
  [0x03bc, 'GCLS002'],
  [0x045b, 'LYWSD02'],
  [0x055b, 'LYWSD03MMC'],
  [0x0576, 'CGD1'],
  [0x066f, 'CGDK2'],
  [0x06d3, 'MHO-C303'],
  [0x0b48, 'CGG1'],
  [0x1203, 'XMWSDJ04MMC'],
  [0x16e4, 'LYWSD02MMC'],
  [0x2542, 'LYWSD02MMC'],
  [0x2832, 'MJWSD05MMC'],
  [0x55b5, 'MJWSD06MMC'],
]);

/**
 * Decodes Xiaomi MiBeacon service data (0xFE95), versions 2–5 (docs/radios.md#xiaomi-mibeacon): a 16-bit
 * frame control, the product id, a frame counter, optionally the MAC (reversed) and a capability byte, then
 * objects of (16-bit type, length, value). v4/v5 encrypted objects need the device's bindkey (AES-128-CCM,
 * nonce = reversed MAC + product id + frame counter + 3-byte extended counter). v2/v3 encryption (the old
 * 12-byte keys) and mesh packets are not supported. Objects this decoder does not know are skipped: their
 * length is in the packet.
 */
export function decodeMibeacon(data: Buffer, address: string, keyFor: KeyLookup): DecodeResult {
  const drop = (reason: Extract<DecodeResult, { ok: false }>['reason']): DecodeResult => ({
    ok: false,
    format: 'mibeacon',
    reason,
  });
  if (data.length < 5) return drop('truncated');
  const frame = data.readUInt16LE(0);
  const version = frame >> 12;
  if (version < 2 || (frame & FRAME_MESH) !== 0) return drop('unsupportedVersion');
  const productId = data.readUInt16LE(2);
  const frameCounter = data.readUInt8(4);
  let i = 5;
  if ((frame & FRAME_MAC_INCLUDED) !== 0) {
    if (data.length < i + 6) return drop('truncated');
    if (macFromWire(data.subarray(i, i + 6)) !== address) return drop('macMismatch');
    i += 6;
  }
  if ((frame & FRAME_CAPABILITY_INCLUDED) !== 0) {
    const capability = data[i];
    if (capability === undefined) return drop('truncated');
    i += (capability & CAPABILITY_IO) !== 0 ? 2 : 1;
  }
  const advert: DecodedAdvert = { format: 'mibeacon', values: {}, units: {}, counter: frameCounter };
  const model = MODELS.get(productId);
  if (model !== undefined) advert.model = model;
  // Pairing and "bind me" adverts carry no objects: a valid packet with no values.
  if ((frame & FRAME_OBJECT_INCLUDED) === 0) return { ok: true, advert };

  let objects = data.subarray(i);
  if ((frame & FRAME_ENCRYPTED) !== 0) {
    if (version < 4) return drop('unsupportedVersion');
    const key = keyFor(address);
    if (key === undefined) return drop('missingKey');
    if (data.length < i + EXT_COUNTER_BYTES + MIC_BYTES) return drop('truncated');
    const extCounter = data.subarray(data.length - EXT_COUNTER_BYTES - MIC_BYTES, data.length - MIC_BYTES);
    const nonce = Buffer.concat([macWireOrder(address), data.subarray(2, 5), extCounter]);
    const plaintext = openCcm(
      key,
      nonce,
      data.subarray(i, data.length - EXT_COUNTER_BYTES - MIC_BYTES),
      data.subarray(data.length - MIC_BYTES),
      ASSOCIATED_DATA,
    );
    if (plaintext === undefined) return drop('decryptFailed');
    objects = plaintext;
    // The 4-byte frame counter: the packet's counter byte is its low byte, the extended counter the rest.
    const counter = extCounter.readUIntLE(0, EXT_COUNTER_BYTES) * 256 + frameCounter;
    advert.encryption = { counter, bits: 32 };
    advert.counter = counter;
  }

  let at = 0;
  while (at + 3 <= objects.length) {
    const type = objects.readUInt16LE(at);
    const length = objects.readUInt8(at + 2);
    if (at + 3 + length > objects.length) return drop('truncated');
    if (!applyObject(advert, type, objects.subarray(at + 3, at + 3 + length))) advert.isPartial = true;
    at += 3 + length;
  }
  return { ok: true, advert };
}

/** One MiBeacon object; false when the type (or its length) is one this decoder does not read. */
function applyObject(advert: DecodedAdvert, type: number, body: Buffer): boolean {
  const n = body.length;
  switch (type) {
    case 0x1004: // temperature, s16 × 0.1 °C
      if (n !== 2) return false;
      putValue(advert, 'temperature', scaled(body.readInt16LE(0), 0.1), '°C');
      return true;
    case 0x1006: // humidity, u16 × 0.1 %
      if (n !== 2) return false;
      putValue(advert, 'humidity', scaled(body.readUInt16LE(0), 0.1), '%');
      return true;
    case 0x1007: // illuminance, u24 lx
      if (n !== 3) return false;
      putValue(advert, 'illuminance', body.readUIntLE(0, 3), 'lx');
      return true;
    case 0x1008: // soil moisture, u8 %
      if (n < 1) return false;
      putValue(advert, 'moisture', body.readUInt8(0), '%');
      return true;
    case 0x1009: // soil conductivity, u16 µS/cm
      if (n !== 2) return false;
      putValue(advert, 'conductivity', body.readUInt16LE(0), 'µS/cm');
      return true;
    case 0x100a: // battery, u8 %
    case 0x4803:
    case 0x4c03:
      if (n < 1) return false;
      putValue(advert, 'battery', body.readUInt8(0), '%');
      return true;
    case 0x100d: // temperature s16 × 0.1 °C, then humidity u16 × 0.1 %
      if (n !== 4) return false;
      putValue(advert, 'temperature', scaled(body.readInt16LE(0), 0.1), '°C');
      putValue(advert, 'humidity', scaled(body.readUInt16LE(2), 0.1), '%');
      return true;
    case 0x4801: // temperature, float32 °C
    case 0x4c01:
      if (n !== 4) return false;
      putValue(advert, 'temperature', float32(body), '°C');
      return true;
    case 0x4802: // humidity, u8 %
    case 0x4c02:
      if (n !== 1) return false;
      putValue(advert, 'humidity', body.readUInt8(0), '%');
      return true;
    case 0x4c08: // humidity, float32 %
      if (n !== 4) return false;
      putValue(advert, 'humidity', float32(body), '%');
      return true;
    default:
      return false;
  }
}

/** A float32 without the binary noise of widening it (21.5 stays 21.5, 21.3 is not 21.299999237). */
function float32(body: Buffer): number {
  return Number(body.readFloatLE(0).toPrecision(7));
}
