import { createHash } from 'node:crypto';

const pad = (n: number, digits: number) => String(n).padStart(digits, '0');

/**
 * The digits of a Z-Wave SmartStart QR code, as printed under the code on a device's label (Z-Wave Alliance
 * "Node Provisioning QR Code Format", the layout zwave-js's `parseQRCodeString` reads): `90`, version
 * (`01` SmartStart, `00` S2 only), a checksum (the first two bytes of the SHA-1 of everything after it, as
 * 5 digits), the requested security classes as a bit mask (3 digits), the DSK (8 × 5 digits), then TLV
 * blocks: Product Type (generic/specific device class, installer icon) and Product Id (manufacturer,
 * product type, product id, application version).
 */
export function smartStartQr(
  dsk: string,
  options: { securityMask?: number; version?: 0 | 1; manufacturerId?: number } = {},
): string {
  const product = [0x0102, 0x0002].map((n) => pad(n, 5)).join('');
  const productId = [options.manufacturerId ?? 0x0086, 0x0003, 0x0060, 0x0107].map((n) => pad(n, 5)).join('');
  const body =
    pad(options.securityMask ?? 0b111, 3) +
    dsk.replaceAll('-', '') +
    `00${pad(product.length, 2)}${product}` +
    `02${pad(productId.length, 2)}${productId}`;
  const checksum = createHash('sha1').update(body, 'ascii').digest().readUInt16BE(0);
  return `90${pad(options.version ?? 1, 2)}${pad(checksum, 5)}${body}`;
}
