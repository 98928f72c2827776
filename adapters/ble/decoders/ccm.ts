import { createDecipheriv } from 'node:crypto';

/** Every BLE sensor format here authenticates with a 4-byte MIC. */
const MIC_BYTES = 4;

/**
 * Opens one AES-128-CCM sealed payload (BTHome v1/v2, MiBeacon v4/v5, pvvx all use it, with their own
 * nonces and associated data).
 *
 * @returns the plaintext, or undefined when the MIC does not match (wrong key, corrupted or forged packet).
 */
export function openCcm(
  key: Buffer,
  nonce: Buffer,
  ciphertext: Buffer,
  mic: Buffer,
  associatedData: Buffer = Buffer.alloc(0),
): Buffer | undefined {
  if (key.length !== 16 || mic.length !== MIC_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: MIC_BYTES });
    decipher.setAuthTag(mic);
    decipher.setAAD(associatedData, { plaintextLength: ciphertext.length });
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // CCM reports a MIC mismatch by throwing from final(); that is a data outcome here, not a fault.
    return undefined;
  }
}

/** A MAC as it travels over the air and in nonces that use it reversed: least significant byte first. */
export function macWireOrder(address: string): Buffer {
  return Buffer.from(address.replaceAll(':', ''), 'hex').reverse();
}

/** Lowercase, colon-separated form of a MAC sent least significant byte first. */
export function macFromWire(bytes: Buffer): string {
  return [...bytes]
    .reverse()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}
