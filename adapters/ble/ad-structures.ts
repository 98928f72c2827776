/** AD type of manufacturer-specific data (Bluetooth Core Supplement, part A, 1.4). */
const MANUFACTURER_SPECIFIC_DATA = 0xff;

/**
 * The manufacturer-specific data structures of one advertising report's data (a sequence of AD structures:
 * length byte, AD type, data), each with its leading company id, in order. Pure; a structure that runs past
 * the end, and everything after it, is ignored, as a controller's padding or a truncated report would be.
 */
export function manufacturerDataBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  for (let i = 0; i + 1 < data.length;) {
    const length = data[i]!;
    if (length === 0 || i + 1 + length > data.length) break;
    if (data[i + 1] === MANUFACTURER_SPECIFIC_DATA)
      blocks.push(Buffer.from(data.subarray(i + 2, i + 1 + length)));
    i += 1 + length;
  }
  return blocks;
}
