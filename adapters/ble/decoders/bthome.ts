import { decryptBthome } from './bthome-crypto.js';
import { BTHOME_OBJECTS, BUTTON_EVENTS } from './bthome-objects.js';
import { putValue, scaled, type DecodeResult, type DecodedAdvert } from './types.js';

/** The 16-bit service data UUID BTHome advertises under. */
export const BTHOME_UUID = 'fcd2';

const FLAG_ENCRYPTED = 0x01;
const VERSION_SHIFT = 5;

/**
 * Decodes BTHome v2 service data (bthome.io/format): a device-info byte, then (object id, value) pairs in
 * little-endian. Encrypted packets need the device's `bindkey`. Any packet with an unknown object id,
 * a truncated value or a wrong version is dropped whole, because the object boundaries after it are lost.
 */
export function decodeBthome(data: Buffer, address: string, bindkey?: Buffer): DecodeResult {
  const drop = (reason: Extract<DecodeResult, { ok: false }>['reason']): DecodeResult => ({
    ok: false,
    format: 'bthome',
    reason,
  });
  const deviceInfo = data[0];
  if (deviceInfo === undefined) return drop('truncated');
  if (deviceInfo >> VERSION_SHIFT !== 2) return drop('unsupportedVersion');

  let objects = data.subarray(1);
  let counter: number | undefined;
  if ((deviceInfo & FLAG_ENCRYPTED) !== 0) {
    if (bindkey === undefined) return drop('missingKey');
    const opened = decryptBthome(data, address, bindkey);
    if (opened === undefined) return drop('decryptFailed');
    objects = opened.plaintext;
    counter = opened.counter;
  }

  const advert: DecodedAdvert = { format: 'bthome', values: {}, units: {} };
  let i = 0;
  while (i < objects.length) {
    const id = objects[i++]!;
    const object = BTHOME_OBJECTS.get(id);
    if (object === undefined) return drop('unknownObject');
    const size = objectSize(object, objects, i);
    if (size === undefined || i + size > objects.length) return drop('truncated');
    const body = objects.subarray(i, i + size);
    i += size;
    switch (object.kind) {
      case 'packetId':
        counter = body.readUInt8(0);
        break;
      case 'number': {
        const raw = object.signed ? body.readIntLE(0, size) : body.readUIntLE(0, size);
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
        // Event 1 turns left, 2 turns right; the second byte counts steps. Left is negative here.
        const steps = body.readUInt8(1);
        const sign = body.readUInt8(0) === 1 ? -1 : body.readUInt8(0) === 2 ? 1 : 0;
        putValue(advert, 'dimmer', sign * steps);
        break;
      }
      case 'text':
        putValue(advert, 'text', body.subarray(1).toString('utf8'));
        break;
      case 'raw':
        putValue(advert, 'raw', body.subarray(1).toString('hex'));
        break;
      case 'firmware':
        // Stored least significant part first: f1 00 01 02 04 is version 4.2.1.0.
        advert.firmware = [...body].reverse().join('.');
        break;
      case 'skip':
        break;
    }
  }
  if (counter !== undefined) advert.counter = counter;
  return { ok: true, advert };
}

/** Bytes after the object id; text and raw objects carry their own length byte first. */
function objectSize(
  object: NonNullable<ReturnType<typeof BTHOME_OBJECTS.get>>,
  objects: Buffer,
  at: number,
): number | undefined {
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
