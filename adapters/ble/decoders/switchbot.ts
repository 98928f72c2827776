import { putValue, type DecodeResult, type DecodedAdvert } from './types.js';

/** SwitchBot advertises under 0xFD3D; older firmware under 0x0D00. */
export const SWITCHBOT_UUIDS: readonly string[] = ['fd3d', '0d00'];

const MODELS: ReadonlyMap<number, string> = new Map([
  [0x54, 'SwitchBot Meter'], // 'T'
  [0x69, 'SwitchBot Meter Plus'], // 'i'
]);

/**
 * Decodes SwitchBot Meter and Meter Plus service data (docs/radios.md#switchbot): device type byte, status,
 * battery (low 7 bits, %), temperature as tenths (low nibble) and whole degrees (low 7 bits; the top bit set
 * means above zero), humidity (low 7 bits, %).
 *
 * @returns undefined for other SwitchBot devices (bots, curtains, plugs: nothing to read here).
 */
export function decodeSwitchbot(data: Buffer): DecodeResult | undefined {
  const model = data[0] === undefined ? undefined : MODELS.get(data[0] & 0x7f);
  if (model === undefined) return undefined;
  if (data.length !== 6) return { ok: false, format: 'switchbot', reason: 'badLength' };
  const advert: DecodedAdvert = { format: 'switchbot', model, values: {}, units: {} };
  const degrees = (data[4]! & 0x7f) + (data[3]! & 0x0f) / 10;
  const isAboveZero = (data[4]! & 0x80) !== 0;
  putValue(advert, 'temperature', Number((isAboveZero ? degrees : -degrees).toFixed(1)), '°C');
  putValue(advert, 'humidity', data[5]! & 0x7f, '%');
  putValue(advert, 'battery', data[2]! & 0x7f, '%');
  return { ok: true, advert };
}
