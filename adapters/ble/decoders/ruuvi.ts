import { putValue, scaled, type DecodeResult, type DecodedAdvert } from './types.js';

/** Ruuvi Innovations' Bluetooth SIG company id, little-endian at the start of manufacturer data. */
export const RUUVI_COMPANY_ID = 0x0499;

const RAWV1 = 3;
/** Format byte + 13 bytes of fields (docs.ruuvi.com, "Data format 3"). */
const RAWV1_LENGTH = 14;
const RAWV2 = 5;
/** Format byte + 23 bytes of fields (docs.ruuvi.com, "Data format 5"). */
const RAWV2_LENGTH = 24;

/**
 * Ruuvi data format 3 (RAWv1), big-endian: humidity u8 × 0.5 %, temperature as a sign bit + 7-bit whole
 * degrees and a byte of hundredths, pressure u16 + 50,000 Pa, acceleration X/Y/Z s16 mG, battery u16 mV.
 */
function decodeRawV1(data: Buffer): DecodeResult {
  if (data.length < RAWV1_LENGTH) return { ok: false, format: 'ruuvi', reason: 'truncated' };
  const advert: DecodedAdvert = { format: 'ruuvi', model: 'RuuviTag (data format 3)', values: {}, units: {} };
  const degrees = (data[2]! & 0x7f) + data[3]! / 100;
  putValue(advert, 'temperature', Number(((data[2]! & 0x80) !== 0 ? -degrees : degrees).toFixed(2)), '°C');
  putValue(advert, 'humidity', data[1]! * 0.5, '%');
  putValue(advert, 'pressure', scaled(data.readUInt16BE(4) + 50_000, 0.01), 'hPa');
  putValue(advert, 'accelerationX', data.readInt16BE(6), 'mG');
  putValue(advert, 'accelerationY', data.readInt16BE(8), 'mG');
  putValue(advert, 'accelerationZ', data.readInt16BE(10), 'mG');
  putValue(advert, 'batteryVoltage', scaled(data.readUInt16BE(12), 0.001), 'V');
  return { ok: true, advert };
}

/**
 * Decodes Ruuvi data formats 5 (RAWv2) and 3 (RAWv1). Format 5: big-endian fields after the company id. Each field has an
 * "invalid" sentinel (e.g. 0x8000 for temperature); such a field is left out rather than reported as a
 * number the sensor never measured.
 */
export function decodeRuuvi(manufacturerData: Buffer): DecodeResult {
  const data = manufacturerData.subarray(2);
  if (data.length === 0) return { ok: false, format: 'ruuvi', reason: 'truncated' };
  if (data[0] === RAWV1) return decodeRawV1(data);
  if (data[0] !== RAWV2) return { ok: false, format: 'ruuvi', reason: 'unsupportedVersion' };
  if (data.length < RAWV2_LENGTH) return { ok: false, format: 'ruuvi', reason: 'truncated' };

  const advert: DecodedAdvert = { format: 'ruuvi', model: 'RuuviTag (data format 5)', values: {}, units: {} };
  const temperature = data.readInt16BE(1);
  if (temperature !== -0x8000) putValue(advert, 'temperature', scaled(temperature, 0.005), '°C');
  const humidity = data.readUInt16BE(3);
  if (humidity !== 0xffff) putValue(advert, 'humidity', scaled(humidity, 0.0025), '%');
  const pressure = data.readUInt16BE(5);
  if (pressure !== 0xffff) putValue(advert, 'pressure', scaled(pressure + 50_000, 0.01), 'hPa');
  for (const [axis, at] of [
    ['accelerationX', 7],
    ['accelerationY', 9],
    ['accelerationZ', 11],
  ] as const) {
    const acceleration = data.readInt16BE(at);
    if (acceleration !== -0x8000) putValue(advert, axis, acceleration, 'mG');
  }
  // Power info packs 11 bits of battery voltage (mV above 1600) and 5 bits of TX power (2 dBm steps above -40).
  const power = data.readUInt16BE(13);
  const batteryAbove1600mV = power >> 5;
  if (batteryAbove1600mV !== 0x7ff)
    putValue(advert, 'batteryVoltage', scaled(batteryAbove1600mV + 1600, 0.001), 'V');
  const txPowerSteps = power & 0x1f;
  if (txPowerSteps !== 0x1f) putValue(advert, 'txPower', txPowerSteps * 2 - 40, 'dBm');
  const movements = data.readUInt8(15);
  if (movements !== 0xff) putValue(advert, 'movementCounter', movements);
  const sequence = data.readUInt16BE(16);
  if (sequence !== 0xffff) advert.counter = sequence;
  return { ok: true, advert };
}
