/**
 * Byte helpers for the fake HCI controller: the few HCI packet shapes (Bluetooth Core 5.x, Vol 4 Part E)
 * a BLE central sees.
 */

export const HCI_COMMAND = 0x01;
export const HCI_ACL = 0x02;
export const HCI_EVENT = 0x04;

/** LE Advertising Report event types. */
export const ADV_IND = 0x00;
export const ADV_NONCONN_IND = 0x03;
export const SCAN_RSP = 0x04;

export const u16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];

/** A MAC as it travels over HCI: least significant byte first. */
export const macBytes = (mac: string): number[] =>
  mac
    .split(':')
    .reverse()
    .map((h) => parseInt(h, 16));

export const macFromBytes = (bytes: Buffer): string =>
  [...bytes]
    .reverse()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');

export function eventPacket(code: number, params: number[]): Buffer {
  return Buffer.from([HCI_EVENT, code, params.length, ...params]);
}

/** One LE Advertising Report (LE Meta event 0x3E, subevent 0x02) carrying `ad` from `address`. */
export function advertisingReport(options: {
  address: string;
  isRandomAddress?: boolean;
  eventType: number;
  ad: Buffer;
  rssi: number;
}): Buffer {
  const { address, isRandomAddress = false, eventType, ad, rssi } = options;
  return eventPacket(0x3e, [
    0x02,
    1,
    eventType,
    isRandomAddress ? 1 : 0,
    ...macBytes(address),
    ad.length,
    ...ad,
    rssi & 0xff,
  ]);
}

/** AD structures (length, type, data) concatenated. */
export function adStructures(...entries: [type: number, data: Buffer | number[]][]): Buffer {
  return Buffer.concat(entries.map(([type, data]) => Buffer.from([data.length + 1, type, ...data])));
}

/** AD type 0x16: 16-bit service data. */
export const serviceDataAd = (uuid16: number, data: Buffer): [number, number[]] => [
  0x16,
  [...u16(uuid16), ...data],
];

/** AD type 0xFF: manufacturer data, company id first. */
export const manufacturerAd = (companyId: number, data: Buffer): [number, number[]] => [
  0xff,
  [...u16(companyId), ...data],
];

/** What a host reads from one LE Advertising Report (legacy, one report per event). */
export interface ParsedReport {
  address: string;
  rssi: number;
  localName?: string;
  serviceData: { uuid: string; data: Buffer }[];
  /** The last manufacturer data structure, company id first (noble keeps only the last one too). */
  manufacturerData?: Buffer;
}

/** Parses a captured HCI LE Advertising Report event (04 3e .. 02 ..) the way a BLE host does. */
export function parseAdvertisingReport(hex: string): ParsedReport {
  const packet = Buffer.from(hex, 'hex');
  if (packet[0] !== HCI_EVENT || packet[1] !== 0x3e || packet[3] !== 0x02)
    throw new Error(`not a legacy LE Advertising Report: ${hex.slice(0, 10)}`);
  const address = macFromBytes(packet.subarray(7, 13));
  const adLength = packet[13]!;
  const ad = packet.subarray(14, 14 + adLength);
  const report: ParsedReport = { address, rssi: packet.readInt8(14 + adLength), serviceData: [] };
  for (let i = 0; i + 1 < ad.length;) {
    const length = ad[i]!;
    if (length === 0 || i + 1 + length > ad.length) break;
    const type = ad[i + 1]!;
    const body = ad.subarray(i + 2, i + 1 + length);
    if (type === 0x08 || type === 0x09) report.localName = body.toString('utf8');
    if (type === 0x16 && body.length >= 2)
      report.serviceData.push({
        uuid: body.readUInt16LE(0).toString(16).padStart(4, '0'),
        data: body.subarray(2),
      });
    if (type === 0xff) report.manufacturerData = body;
    i += 1 + length;
  }
  return report;
}
