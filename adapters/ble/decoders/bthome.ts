import { macFromWire } from './ccm.js';
import { decryptBthome } from './bthome-crypto.js';
import { BTHOME_OBJECTS, BUTTON_EVENTS, type BthomeObject } from './bthome-objects.js';
import { putValue, scaled, type DecodeResult, type DecodedAdvert, type KeyLookup } from './types.js';

/** The 16-bit service data UUID BTHome v2 advertises under. */
export const BTHOME_UUID = 'fcd2';
/** BTHome v1: one UUID for plain packets, another for encrypted ones. */
export const BTHOME_V1_UUID = '181c';
export const BTHOME_V1_ENCRYPTED_UUID = '181e';

const FLAG_ENCRYPTED = 0x01;
const FLAG_MAC_INCLUDED = 0x02;
const VERSION_SHIFT = 5;
const MAC_BYTES = 6;

type Drop = Extract<DecodeResult, { ok: false }>['reason'];

/**
 * Decodes BTHome v2 service data (bthome.io/format): a device-info byte (bit 0 encrypted, bit 1 the
 * device's MAC follows, bits 5–7 the version), then (object id, little-endian value) pairs. Encrypted
 * packets need the device's key, found by the MAC the nonce uses. An object id this table does not know has
 * no known length, so it ends the packet: the values before it are kept (`isPartial`).
 */
export function decodeBthome(data: Buffer, address: string, keyFor: KeyLookup): DecodeResult {
  const drop = (reason: Drop): DecodeResult => ({ ok: false, format: 'bthome', reason });
  const deviceInfo = data[0];
  if (deviceInfo === undefined) return drop('truncated');
  if (deviceInfo >> VERSION_SHIFT !== 2) return drop('unsupportedVersion');

  let objects = data.subarray(1);
  let deviceAddress = address;
  if ((deviceInfo & FLAG_MAC_INCLUDED) !== 0) {
    if (objects.length < MAC_BYTES) return drop('truncated');
    deviceAddress = macFromWire(objects.subarray(0, MAC_BYTES));
    objects = objects.subarray(MAC_BYTES);
  }
  let encryption: DecodedAdvert['encryption'];
  if ((deviceInfo & FLAG_ENCRYPTED) !== 0) {
    const key = keyFor(deviceAddress);
    if (key === undefined) return drop('missingKey');
    const opened = decryptBthome(objects, { address: deviceAddress, key, version: 2, deviceInfo });
    if (opened === undefined) return drop('decryptFailed');
    objects = opened.plaintext;
    encryption = { counter: opened.counter, bits: 32 };
  }

  const advert: DecodedAdvert = { format: 'bthome', values: {}, units: {} };
  if (deviceAddress !== address) advert.address = deviceAddress;
  let i = 0;
  while (i < objects.length) {
    const object = BTHOME_OBJECTS.get(objects[i]!);
    if (object === undefined) {
      if (Object.keys(advert.values).length === 0 && advert.firmware === undefined)
        return drop('unknownObject');
      advert.isPartial = true;
      break;
    }
    i++;
    const size = objectSize(object, objects, i);
    if (size === undefined || i + size > objects.length) return drop('truncated');
    applyObject(advert, object, objects.subarray(i, i + size), false);
    i += size;
  }
  if (encryption !== undefined) {
    advert.encryption = encryption;
    advert.counter = encryption.counter;
  }
  return { ok: true, advert };
}

/**
 * Decodes BTHome v1 service data (UUID 0x181C plain, 0x181E encrypted; bthome.io/v1): objects of a control
 * byte (bits 0–4 the length of what follows it, bits 5–7 the data type: 0 unsigned, 1 signed, 2 float,
 * 3 text, 4 raw), an object id, and the value. Ids, scales and units are v2's. Lengths are explicit, so an
 * unknown id is skipped.
 */
export function decodeBthomeV1(
  data: Buffer,
  isEncrypted: boolean,
  address: string,
  keyFor: KeyLookup,
): DecodeResult {
  const drop = (reason: Drop): DecodeResult => ({ ok: false, format: 'bthomeV1', reason });
  let objects = data;
  const advert: DecodedAdvert = { format: 'bthomeV1', values: {}, units: {} };
  if (isEncrypted) {
    const key = keyFor(address);
    if (key === undefined) return drop('missingKey');
    const opened = decryptBthome(data, { address, key, version: 1 });
    if (opened === undefined) return drop('decryptFailed');
    objects = opened.plaintext;
    advert.encryption = { counter: opened.counter, bits: 32 };
    advert.counter = opened.counter;
  }
  let i = 0;
  while (i < objects.length) {
    const control = objects[i]!;
    const length = control & 0x1f;
    const dataType = control >> 5;
    if (length < 1) return drop('badLength');
    if (i + 1 + length > objects.length) return drop('truncated');
    const id = objects[i + 1]!;
    const body = objects.subarray(i + 2, i + 1 + length);
    i += 1 + length;
    const object = BTHOME_OBJECTS.get(id);
    if (object === undefined || body.length === 0) {
      advert.isPartial = true;
      continue;
    }
    if (object.kind === 'number' && (dataType === 0 || dataType === 1) && body.length <= 6) {
      const raw = dataType === 1 ? body.readIntLE(0, body.length) : body.readUIntLE(0, body.length);
      putValue(advert, object.name, scaled(raw, object.factor), object.unit);
    } else if (object.kind === 'number' && dataType === 2 && (body.length === 4 || body.length === 8)) {
      const raw = body.length === 4 ? body.readFloatLE(0) : body.readDoubleLE(0);
      putValue(advert, object.name, scaled(raw, object.factor), object.unit);
    } else {
      applyObject(advert, object, body, true);
    }
  }
  // An encrypted packet's counter is the authenticated one, whatever packet id object it holds.
  if (advert.encryption !== undefined) advert.counter = advert.encryption.counter;
  return { ok: true, advert };
}

function applyObject(advert: DecodedAdvert, object: BthomeObject, body: Buffer, isV1: boolean): void {
  switch (object.kind) {
    case 'packetId':
      advert.counter = body.readUInt8(0);
      break;
    case 'number': {
      const raw = object.signed ? body.readIntLE(0, body.length) : body.readUIntLE(0, body.length);
      putValue(advert, object.name, scaled(raw, object.factor), object.unit);
      break;
    }
    case 'binary':
      putValue(advert, object.name, body.readUInt8(0) !== 0);
      break;
    case 'button':
      putValue(advert, 'button', BUTTON_EVENTS.get(body.readUInt8(0)) ?? 'unknown');
      break;
    case 'dimmer': {
      if (body.length < 2) break;
      // Event 1 turns left, 2 turns right; the second byte counts steps. Left is negative here.
      const steps = body.readUInt8(1);
      const sign = body.readUInt8(0) === 1 ? -1 : body.readUInt8(0) === 2 ? 1 : 0;
      putValue(advert, 'dimmer', sign * steps);
      break;
    }
    case 'text':
      // v2 text and raw objects carry their own length byte first; v1's control byte already says it.
      putValue(advert, 'text', body.subarray(isV1 ? 0 : 1).toString('utf8'));
      break;
    case 'raw':
      putValue(advert, 'raw', body.subarray(isV1 ? 0 : 1).toString('hex'));
      break;
    case 'firmware':
      // Stored least significant part first: f1 00 01 02 04 is version 4.2.1.0.
      advert.firmware = [...body].reverse().join('.');
      break;
    case 'skip':
      break;
  }
}

/** Bytes after a v2 object id; text and raw objects carry their own length byte first. */
function objectSize(object: BthomeObject, objects: Buffer, at: number): number | undefined {
  switch (object.kind) {
    case 'packetId':
    case 'binary':
    case 'button':
      return 1;
    case 'dimmer':
      return 2;
    case 'number':
    case 'firmware':
    case 'skip':
      return object.bytes;
    case 'text':
    case 'raw': {
      const length = objects[at];
      return length === undefined ? undefined : 1 + length;
    }
  }
}
