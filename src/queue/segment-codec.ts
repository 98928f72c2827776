import { SEQ_KEY_BYTES } from './codec.js';

/**
 * A segment is one stored record holding the readings a route appended in one group commit
 * (docs/architecture.md#queue):
 * one LevelDB put and, once all of them are acknowledged, one delete, instead of one of each per reading.
 * Its key is the first item's sequence number (`encodeSeq`). Segments are immutable once written, so a
 * decoded segment may be cached for as long as the segment exists.
 *
 * Value layout: a format byte, then per item `u32 seq - firstSeq`, `u32 byte length` and the encoded
 * reading (`encodeReading`). The sequence numbers are explicit, so a segment may have holes (segments
 * migrated from the one-record-per-reading format do).
 */
export const SEGMENT_FORMAT = 1;
const ITEM_HEADER_BYTES = 8;

/** One item inside a segment; `value` is a view into the segment's bytes, not a copy. */
export interface SegmentItem {
  seq: number;
  value: Buffer;
}

/**
 * An item on its way into a segment, as an append has it: the reading's JSON (`readingJson`) and its UTF-8
 * byte length. The segment encoder writes the string straight into the segment, with no buffer per item.
 */
export interface PendingItem {
  seq: number;
  json: string;
  byteLength: number;
}

export function encodeSegment(firstSeq: number, items: readonly (SegmentItem | PendingItem)[]): Buffer {
  let length = 1;
  for (const item of items) length += ITEM_HEADER_BYTES + valueBytes(item);
  const out = Buffer.allocUnsafe(length);
  out[0] = SEGMENT_FORMAT;
  let offset = 1;
  for (const item of items) {
    const bytes = valueBytes(item);
    out.writeUInt32BE(item.seq - firstSeq, offset);
    out.writeUInt32BE(bytes, offset + 4);
    offset += ITEM_HEADER_BYTES;
    if ('json' in item) out.write(item.json, offset, bytes, 'utf8');
    else item.value.copy(out, offset);
    offset += bytes;
  }
  return out;
}

function valueBytes(item: SegmentItem | PendingItem): number {
  return 'json' in item ? item.byteLength : item.value.length;
}

/** The items of a stored segment, in sequence order; throws a RangeError when the bytes are not a segment. */
export function decodeSegment(firstSeq: number, value: Buffer): SegmentItem[] {
  if (value[0] !== SEGMENT_FORMAT) throw new RangeError(`unknown segment format ${String(value[0])}`);
  const items: SegmentItem[] = [];
  let offset = 1;
  let previous = -1;
  while (offset < value.length) {
    if (offset + ITEM_HEADER_BYTES > value.length) throw new RangeError('segment item header cut short');
    const delta = value.readUInt32BE(offset);
    const length = value.readUInt32BE(offset + 4);
    offset += ITEM_HEADER_BYTES;
    if (offset + length > value.length) throw new RangeError('segment item cut short');
    if (delta <= previous) throw new RangeError('segment items out of order');
    previous = delta;
    items.push({ seq: firstSeq + delta, value: value.subarray(offset, offset + length) });
    offset += length;
  }
  return items;
}

/**
 * The quota bytes of one item: what it cost as a record of its own (key plus encoded reading), so that
 * `QueueStats.bytes` and the quota mean the same as before segments.
 */
export function itemBytes(item: SegmentItem): number {
  return SEQ_KEY_BYTES + item.value.length;
}
