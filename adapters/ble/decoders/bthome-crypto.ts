import { createDecipheriv } from 'node:crypto';

/** BTHome v2 service data UUID 0xFCD2, as it appears little-endian in the nonce. */
const BTHOME_UUID_LE = Buffer.from([0xd2, 0xfc]);
const COUNTER_BYTES = 4;
const MIC_BYTES = 4;

/**
 * Decrypts an encrypted BTHome v2 service-data payload (AES-128-CCM, 4-byte MIC; bthome.io/encryption).
 * The nonce is MAC (6 bytes, as printed) + UUID 0xFCD2 (LE) + the device-info byte + the 4-byte counter.
 *
 * @returns the plaintext objects and the counter, or undefined when the MIC does not match (wrong key,
 *   corrupted or forged packet) or the payload is too short.
 */
export function decryptBthome(
  payload: Buffer,
  address: string,
  key: Buffer,
): { plaintext: Buffer; counter: number } | undefined {
  if (payload.length < 1 + COUNTER_BYTES + MIC_BYTES) return undefined;
  const deviceInfo = payload.subarray(0, 1);
  const ciphertext = payload.subarray(1, payload.length - COUNTER_BYTES - MIC_BYTES);
  const counterBytes = payload.subarray(
    payload.length - COUNTER_BYTES - MIC_BYTES,
    payload.length - MIC_BYTES,
  );
  const mic = payload.subarray(payload.length - MIC_BYTES);
  const mac = Buffer.from(address.replaceAll(':', ''), 'hex');
  const nonce = Buffer.concat([mac, BTHOME_UUID_LE, deviceInfo, counterBytes]);
  try {
    const decipher = createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: MIC_BYTES });
    decipher.setAuthTag(mic);
    decipher.setAAD(Buffer.alloc(0), { plaintextLength: ciphertext.length });
    const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return { plaintext, counter: counterBytes.readUInt32LE(0) };
  } catch {
    // CCM reports a MIC mismatch by throwing from final(); that is a data outcome here, not a fault.
    return undefined;
  }
}
