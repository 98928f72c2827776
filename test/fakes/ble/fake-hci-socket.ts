import { EventEmitter } from 'node:events';
import Module, { createRequire } from 'node:module';
import { FakeHciController } from './fake-hci-controller.js';

/**
 * Replaces `@abandonware/bluetooth-hci-socket` (noble's native kernel socket) with an in-process fake, so
 * the real noble (HCI, GAP advertising parsing, ACL, ATT/GATT) runs against `FakeHciController`s. This is
 * the lowest seam below noble: everything above the socket is the shipped library.
 *
 * Install before noble is first loaded in the process (the adapter loads it lazily in `start`).
 */
export class FakeBluetoothHost {
  /** Controllers by HCI device index (hci0 = 0). */
  readonly controllers = new Map<number, FakeHciController>();
  /** When false, opening a socket fails as on a kernel without AF_BLUETOOTH. */
  hasBluetooth = true;

  controller(devId = 0): FakeHciController {
    let controller = this.controllers.get(devId);
    if (controller === undefined) {
      controller = new FakeHciController();
      this.controllers.set(devId, controller);
    }
    return controller;
  }

  close(): void {
    for (const controller of this.controllers.values()) controller.close();
  }
}

const host = new FakeBluetoothHost();

const errnoError = (code: string, message: string): Error =>
  Object.assign(new Error(`${code}, ${message}`), { code });

class FakeHciSocket extends EventEmitter {
  private controller: FakeHciController | undefined;
  private readonly forward = (packet: Buffer): void => {
    this.emit('data', packet);
  };

  constructor() {
    super();
    if (!host.hasBluetooth) throw errnoError('EAFNOSUPPORT', 'Address family not supported by protocol');
  }

  bindRaw(devId?: number): number {
    const id = devId ?? 0;
    const controller = host.controllers.get(id);
    if (controller === undefined) throw errnoError('ENODEV', 'No such device');
    this.controller = controller;
    controller.on('data', this.forward);
    return id;
  }

  bindUser(): number {
    throw errnoError('EPERM', 'user channel is not faked');
  }

  bindControl(): void {}
  start(): void {}
  stop(): void {
    this.controller?.off('data', this.forward);
  }
  setFilter(): void {}

  isDevUp(): boolean {
    return this.controller?.isPoweredOn ?? false;
  }

  getDeviceList(): { devId: number; devUp: boolean }[] {
    return [...host.controllers].map(([devId, c]) => ({ devId, devUp: c.isPoweredOn }));
  }

  write(packet: Buffer): void {
    this.controller?.fromHost(Buffer.from(packet));
  }
}

const FAKE_ID = '/fake/@abandonware/bluetooth-hci-socket.js';

interface ModuleInternals {
  _resolveFilename: (this: unknown, request: string, ...rest: unknown[]) => string;
}

/**
 * Points every `require('@abandonware/bluetooth-hci-socket')` in this process at the fake and returns the
 * host whose controllers the sockets bind to. Idempotent.
 */
export function installFakeBluetooth(): FakeBluetoothHost {
  const internals = Module as unknown as ModuleInternals;
  const original = internals._resolveFilename;
  if (!(original as { isFake?: boolean }).isFake) {
    const resolve = function (this: unknown, request: string, ...rest: unknown[]): string {
      return request === '@abandonware/bluetooth-hci-socket'
        ? FAKE_ID
        : original.call(this, request, ...rest);
    };
    internals._resolveFilename = Object.assign(resolve, { isFake: true });
    const fake = new Module(FAKE_ID);
    fake.filename = FAKE_ID;
    fake.loaded = true;
    fake.exports = FakeHciSocket;
    createRequire(import.meta.url).cache[FAKE_ID] = fake;
  }
  return host;
}
