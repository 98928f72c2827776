import { openCcm } from './ccm.js';

const COUNTER_BYTES = 4;
const MIC_BYTES = 4;
/** BTHome v2's service data UUID 0xFCD2 and v1's encrypted UUID 0x181E, little-endian as in the nonce. */
const V2_UUID_LE = Buffer.from([0xd2, 0xfc]);
const V1_UUID_LE = Buffer.from([0x1e, 0x18]);
/** BTHome v1 authenticates one byte of associated data; v2 none (bthome.io/encryption). */
const V1_ASSOCIATED_DATA = Buffer.from([0x11]);

/**
 * Decrypts encrypted BTHome objects (AES-128-CCM, 4-byte MIC; bthome.io/encryption). `sealed` is the
 * ciphertext followed by the 4-byte counter and the MIC. The nonce is the device's MAC (6 bytes, as
 * printed; for v2 with the MAC-in-payload flag, the MAC from the payload) + the UUID little-endian (+ the
 * device-info byte in v2) + the counter.
 *
 * @returns the plaintext objects and the counter, or undefined when the MIC does not match or the payload
 *   is too short.
 */
export function decryptBthome(
  sealed: Buffer,
  options: { address: string; key: Buffer } & ({ version: 2; deviceInfo: number } | { version: 1 }),
): { plaintext: Buffer; counter: number } | undefined {
  if (sealed.length < COUNTER_BYTES + MIC_BYTES) return undefined;
  const ciphertext = sealed.subarray(0, sealed.length - COUNTER_BYTES - MIC_BYTES);
  const counterBytes = sealed.subarray(sealed.length - COUNTER_BYTES - MIC_BYTES, sealed.length - MIC_BYTES);
  const mic = sealed.subarray(sealed.length - MIC_BYTES);
  const mac = Buffer.from(options.address.replaceAll(':', ''), 'hex');
  const nonce =
    options.version === 2
      ? Buffer.concat([mac, V2_UUID_LE, Buffer.from([options.deviceInfo]), counterBytes])
      : Buffer.concat([mac, V1_UUID_LE, counterBytes]);
  const plaintext = openCcm(
    options.key,
    nonce,
    ciphertext,
    mic,
    options.version === 1 ? V1_ASSOCIATED_DATA : undefined,
  );
  return plaintext === undefined ? undefined : { plaintext, counter: counterBytes.readUInt32LE(0) };
}
