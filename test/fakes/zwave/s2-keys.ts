import { dskToString, generateECDHKeyPair } from '@zwave-js/core';

/**
 * An S2 key pair made before its mock node exists, with the DSK a label or SmartStart QR code would show:
 * the first 16 bytes of the public key (Security 2 CC, "DSK").
 */
export async function labelledKeyPair() {
  const keyPair = await generateECDHKeyPair();
  return { keyPair, dsk: dskToString(keyPair.publicKey.slice(0, 16)) };
}
