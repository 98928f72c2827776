import { u16 } from './hci-packets.js';

/** One characteristic of a virtual peripheral's GATT database. */
export interface VirtualCharacteristic {
  uuid: string;
  properties: ('read' | 'write' | 'writeWithoutResponse' | 'notify')[];
  value: Buffer;
}

/** A write the virtual peripheral received, as the device would see it. */
export interface ReceivedWrite {
  characteristic: string;
  data: Buffer;
  withResponse: boolean;
}

interface Attribute {
  handle: number;
  type: number;
  value: Buffer;
  characteristic?: VirtualCharacteristic;
  cccdOf?: VirtualCharacteristic;
}

const PROPERTY_BITS = { read: 0x02, writeWithoutResponse: 0x04, write: 0x08, notify: 0x10 } as const;

const ATT_ERROR = 0x01;
const ERR_INVALID_HANDLE = 0x01;
const ERR_NOT_SUPPORTED = 0x06;
const ERR_NOT_FOUND = 0x0a;

/**
 * A connectable BLE device: what it advertises and a GATT database served by a minimal ATT server (Core
 * Vol 3 Part F: MTU exchange, service/characteristic/descriptor discovery, read, write, write command).
 * 16-bit UUIDs only.
 */
export class VirtualPeripheral {
  readonly writes: ReceivedWrite[] = [];
  private readonly attributes: Attribute[] = [];
  private readonly services: { start: number; end: number; uuid: number }[] = [];

  constructor(
    readonly address: string,
    /** AD structures sent in each ADV_IND. */
    readonly advertisingData: Buffer,
    gatt: { uuid: string; characteristics: VirtualCharacteristic[] }[],
    readonly rssi = -55,
  ) {
    for (const service of gatt) {
      const start = this.add(0x2800, Buffer.from(u16(parseInt(service.uuid, 16))));
      for (const characteristic of service.characteristics) {
        const bits = characteristic.properties.reduce((acc, p) => acc | PROPERTY_BITS[p], 0);
        const declaration = this.add(
          0x2803,
          Buffer.from([bits, 0, 0, ...u16(parseInt(characteristic.uuid, 16))]),
        );
        const valueHandle = this.add(parseInt(characteristic.uuid, 16), Buffer.alloc(0), { characteristic });
        this.attributes[declaration - 1]!.value.writeUInt16LE(valueHandle, 1);
        if (characteristic.properties.includes('notify'))
          this.add(0x2902, Buffer.from([0, 0]), { cccdOf: characteristic });
      }
      this.services.push({ start, end: this.attributes.length, uuid: parseInt(service.uuid, 16) });
    }
  }

  characteristic(uuid: string): VirtualCharacteristic {
    const found = this.attributes.find((a) => a.characteristic?.uuid === uuid)?.characteristic;
    if (found === undefined) throw new Error(`no characteristic ${uuid}`);
    return found;
  }

  /** The ATT notification PDU for a new value, or undefined when the central has not subscribed. */
  notification(uuid: string, value: Buffer): number[] | undefined {
    const characteristic = this.characteristic(uuid);
    characteristic.value = value;
    const cccd = this.attributes.find((a) => a.cccdOf === characteristic);
    const valueHandle = this.attributes.find((a) => a.characteristic === characteristic)!.handle;
    if (cccd === undefined || (cccd.value[0]! & 0x01) === 0) return undefined;
    return [0x1b, ...u16(valueHandle), ...value];
  }

  /** Answers one ATT request; undefined for PDUs that take no response (write command). */
  handleAtt(pdu: Buffer): number[] | undefined {
    const opcode = pdu[0]!;
    const range = pdu.length >= 5 ? [pdu.readUInt16LE(1), pdu.readUInt16LE(3)] : [0, 0];
    const [start, end] = range as [number, number];
    const error = (handle: number, code: number): number[] => [ATT_ERROR, opcode, ...u16(handle), code];
    const inRange = this.attributes.filter((a) => a.handle >= start && a.handle <= end);
    switch (opcode) {
      case 0x02: // Exchange MTU: keep the default 23
        return [0x03, ...u16(23)];
      case 0x10: {
        // Read By Group Type: primary services
        const found = this.services.filter((s) => s.start >= start && s.start <= end);
        if (found.length === 0) return error(start, ERR_NOT_FOUND);
        return [0x11, 6, ...found.flatMap((s) => [...u16(s.start), ...u16(s.end), ...u16(s.uuid)])];
      }
      case 0x08: {
        // Read By Type: characteristic declarations or descriptors of one type; same-length entries only
        const type = pdu.readUInt16LE(5);
        const found = inRange.filter((a) => a.type === type);
        if (found.length === 0) return error(start, ERR_NOT_FOUND);
        const size = found[0]!.value.length;
        const same = found.filter((a) => a.value.length === size);
        return [0x09, 2 + size, ...same.flatMap((a) => [...u16(a.handle), ...a.value])];
      }
      case 0x04: // Find Information: descriptors
        if (inRange.length === 0) return error(start, ERR_NOT_FOUND);
        return [0x05, 1, ...inRange.flatMap((a) => [...u16(a.handle), ...u16(a.type)])];
      case 0x0a: {
        // Read
        const attribute = this.attributes[pdu.readUInt16LE(1) - 1];
        if (attribute === undefined) return error(pdu.readUInt16LE(1), ERR_INVALID_HANDLE);
        return [0x0b, ...(attribute.characteristic?.value ?? attribute.value)];
      }
      case 0x12: // Write Request
      case 0x52: {
        // Write Command
        const handle = pdu.readUInt16LE(1);
        const attribute = this.attributes[handle - 1];
        const data = Buffer.from(pdu.subarray(3));
        if (attribute === undefined) return opcode === 0x12 ? error(handle, ERR_INVALID_HANDLE) : undefined;
        if (attribute.characteristic !== undefined) {
          attribute.characteristic.value = data;
          this.writes.push({
            characteristic: attribute.characteristic.uuid,
            data,
            withResponse: opcode === 0x12,
          });
        } else {
          attribute.value = data;
        }
        return opcode === 0x12 ? [0x13] : undefined;
      }
      default:
        return error(0, ERR_NOT_SUPPORTED);
    }
  }

  private add(type: number, value: Buffer, extra: Partial<Attribute> = {}): number {
    const handle = this.attributes.length + 1;
    this.attributes.push({ handle, type, value, ...extra });
    return handle;
  }
}
