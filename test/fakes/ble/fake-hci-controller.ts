import { EventEmitter } from 'node:events';
import {
  ADV_IND,
  HCI_ACL,
  HCI_COMMAND,
  advertisingReport,
  eventPacket,
  macBytes,
  macFromBytes,
  u16,
} from './hci-packets.js';
import type { VirtualPeripheral } from './virtual-peripheral.js';

const EVT_DISCONNECTION_COMPLETE = 0x05;
const EVT_COMMAND_COMPLETE = 0x0e;
const EVT_COMMAND_STATUS = 0x0f;
const EVT_COMPLETED_PACKETS = 0x13;
const EVT_LE_META = 0x3e;
const ATT_CID = 0x0004;

/**
 * A Bluetooth controller as noble's HCI layer sees it through the socket: answers the commands noble sends,
 * delivers advertising reports while scanning, and carries ATT over ACL to virtual peripherals.
 *
 * Failure modes a test can switch on: `isPoweredOn = false` (adapter down or rfkilled) and `stallScan()`
 * (the scan stays enabled but reports stop until the host enables scanning again: the Pi failure).
 */
export class FakeHciController extends EventEmitter {
  address = '00:11:22:33:44:55';
  isPoweredOn = true;
  /** Opcodes of every command the host sent, in order. */
  readonly commands: number[] = [];
  readonly peripherals: VirtualPeripheral[] = [];
  /** How often virtual peripherals advertise while the host scans. */
  advertiseEveryMs = 100;
  /** The most links open at the same time so far. */
  mostConnections = 0;
  private isScanning = false;
  private isStalled = false;
  private advertiseTimer: NodeJS.Timeout | undefined;
  private readonly connections = new Map<number, VirtualPeripheral>();
  private nextHandle = 0x0040;

  get scanning(): boolean {
    return this.isScanning && !this.isStalled;
  }

  /** How many times the host enabled scanning. */
  get scanStarts(): number {
    return this.scanEnables;
  }
  private scanEnables = 0;

  add(peripheral: VirtualPeripheral): VirtualPeripheral {
    this.peripherals.push(peripheral);
    return peripheral;
  }

  /** Deliver a raw HCI event (a captured advertising report, say) if the scan is delivering. */
  inject(packet: Buffer | string): void {
    if (!this.scanning) return;
    this.toHost(typeof packet === 'string' ? Buffer.from(packet, 'hex') : packet);
  }

  stallScan(): void {
    this.isStalled = true;
  }

  /** Push a new characteristic value as a notification to every connected central that subscribed. */
  notify(peripheral: VirtualPeripheral, uuid: string, value: Buffer): void {
    const pdu = peripheral.notification(uuid, value);
    if (pdu === undefined) return;
    for (const [handle, connected] of this.connections) if (connected === peripheral) this.acl(handle, pdu);
  }

  /** Every link drops, as when devices walk out of range (Disconnection Complete, reason 0x08 timeout). */
  dropConnections(): void {
    for (const handle of this.connections.keys())
      this.event(EVT_DISCONNECTION_COMPLETE, [0x00, ...u16(handle), 0x08]);
    this.connections.clear();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes from the host (noble's socket.write). */
  fromHost(packet: Buffer): void {
    if (packet[0] === HCI_COMMAND) this.onCommand(packet.readUInt16LE(1), packet.subarray(4, 4 + packet[3]!));
    else if (packet[0] === HCI_ACL) this.onAcl(packet);
  }

  close(): void {
    clearInterval(this.advertiseTimer);
  }

  private toHost(packet: Buffer): void {
    this.emit('data', packet);
  }

  private event(code: number, params: number[]): void {
    this.toHost(eventPacket(code, params));
  }

  private complete(opcode: number, ret: number[] = []): void {
    this.event(EVT_COMMAND_COMPLETE, [1, ...u16(opcode), 0x00, ...ret]);
  }

  private onCommand(opcode: number, params: Buffer): void {
    this.commands.push(opcode);
    switch (opcode) {
      case 0x1001: // Read Local Version: HCI 5.0
        return this.complete(opcode, [0x09, ...u16(0), 0x09, ...u16(0x05f1), ...u16(0)]);
      case 0x1009: // Read BD_ADDR
        return this.complete(opcode, macBytes(this.address));
      case 0x2002: // LE Read Buffer Size
        return this.complete(opcode, [...u16(251), 8]);
      case 0x0c6c: // Read LE Host Supported
        return this.complete(opcode, [1, 0]);
      case 0x200c: // LE Set Scan Enable
        return this.setScan(params[0] === 1, opcode);
      case 0x200d: // LE Create Connection
        return this.connect(macFromBytes(params.subarray(6, 12)), opcode);
      case 0x0406: {
        // Disconnect
        const handle = params.readUInt16LE(0);
        this.event(EVT_COMMAND_STATUS, [0x00, 1, ...u16(opcode)]);
        setImmediate(() => {
          this.connections.delete(handle);
          this.event(EVT_DISCONNECTION_COMPLETE, [0x00, ...u16(handle), 0x16]);
        });
        return;
      }
      case 0x2013: // LE Connection Update
        return this.event(EVT_COMMAND_STATUS, [0x00, 1, ...u16(opcode)]);
      default: // event masks, scan parameters, write LE host supported: success, nothing to return
        return this.complete(opcode);
    }
  }

  private setScan(isEnabled: boolean, opcode: number): void {
    this.isScanning = isEnabled;
    if (isEnabled) {
      this.scanEnables++;
      this.isStalled = false;
    }
    this.complete(opcode);
    clearInterval(this.advertiseTimer);
    if (!isEnabled) return;
    this.advertiseTimer = setInterval(() => this.advertiseAll(), this.advertiseEveryMs);
    this.advertiseTimer.unref();
  }

  private advertiseAll(): void {
    for (const p of this.peripherals) {
      this.inject(
        advertisingReport({ address: p.address, eventType: ADV_IND, ad: p.advertisingData, rssi: p.rssi }),
      );
    }
  }

  private connect(address: string, opcode: number): void {
    const peripheral = this.peripherals.find((p) => p.address === address);
    this.event(EVT_COMMAND_STATUS, [0x00, 1, ...u16(opcode)]);
    // An absent device never answers; the host's connect attempt just waits (as on a real controller).
    if (peripheral === undefined) return;
    const handle = this.nextHandle++;
    this.connections.set(handle, peripheral);
    this.mostConnections = Math.max(this.mostConnections, this.connections.size);
    setImmediate(() =>
      this.event(EVT_LE_META, [
        0x01, // LE Connection Complete
        0x00,
        ...u16(handle),
        0x00, // role: central
        0x00,
        ...macBytes(address),
        ...u16(0x18),
        ...u16(0),
        ...u16(0x48),
        0x00,
      ]),
    );
  }

  private onAcl(packet: Buffer): void {
    const handle = packet.readUInt16LE(1) & 0x0fff;
    // ACL flow control: noble sends no more than the controller's buffers until packets are reported done.
    setImmediate(() => this.event(EVT_COMPLETED_PACKETS, [1, ...u16(handle), ...u16(1)]));
    const l2cap = packet.subarray(5);
    if (l2cap.readUInt16LE(2) !== ATT_CID) return;
    const pdu = l2cap.subarray(4, 4 + l2cap.readUInt16LE(0));
    const peripheral = this.connections.get(handle);
    if (peripheral === undefined) return;
    setImmediate(() => {
      const response = peripheral.handleAtt(pdu);
      if (response !== undefined) this.acl(handle, response);
    });
  }

  private acl(handle: number, pdu: number[]): void {
    const l2cap = [...u16(pdu.length), ...u16(ATT_CID), ...pdu];
    // Packet boundary flag 0b10: first automatically flushable packet.
    this.toHost(Buffer.from([HCI_ACL, ...u16(handle | 0x2000), ...u16(l2cap.length), ...l2cap]));
  }
}
