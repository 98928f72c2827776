import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BleAdapter } from '../../../../adapters/ble/index.js';
import type { DeviceCommand } from '../../../../src/model.js';
import { bleAdapterFromConfig } from '../../../fakes/ble/ble-test-adapter.js';
import { installFakeBluetooth } from '../../../fakes/ble/fake-hci-socket.js';
import { adStructures } from '../../../fakes/ble/hci-packets.js';
import { RecordingContext } from '../../../fakes/ble/recording-context.js';
import { VirtualPeripheral } from '../../../fakes/ble/virtual-peripheral.js';
import { waitFor } from '../../../fakes/wait-for.js';

// Real noble (HCI, ACL, ATT/GATT client) against virtual peripherals behind a fake HCI socket.
const host = installFakeBluetooth();
let adapter: BleAdapter | undefined;

afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
});
afterAll(() => host.close());

const THERMO = 'c0:ff:ee:00:00:01';
const DEVICE = `ble:${THERMO}`;
const int16le = (v: number) => Buffer.from([v & 0xff, (v >> 8) & 0xff]);

function thermometer(): VirtualPeripheral {
  return new VirtualPeripheral(
    THERMO,
    adStructures([0x01, [0x06]], [0x03, [0x1a, 0x18]], [0x09, [...Buffer.from('LAB-THERMO')]]),
    [
      {
        uuid: '181a',
        characteristics: [{ uuid: '2a6e', properties: ['read', 'notify'], value: int16le(2150) }],
      },
      {
        uuid: 'ffe0',
        characteristics: [
          { uuid: 'ffe1', properties: ['read', 'write', 'writeWithoutResponse'], value: Buffer.from([0]) },
        ],
      },
    ],
  );
}

const THERMO_CONFIG = {
  address: THERMO,
  name: 'greenhouse',
  gatt: {
    readings: [
      {
        name: 'temperature',
        service: '181a',
        characteristic: '2a6e',
        format: 'int16le',
        scale: 0.01,
        unit: '°C',
        mode: 'notify',
      },
    ],
    commands: [
      {
        name: 'setLed',
        service: 'ffe0',
        characteristic: 'ffe1',
        payload: [{ hex: '01' }, { arg: 'level', format: 'uint8', max: 100 }],
      },
      {
        name: 'blink',
        service: 'ffe0',
        characteristic: 'ffe1',
        withResponse: false,
        payload: [{ hex: '02' }],
      },
    ],
  },
};

const command = (name: string, args: Record<string, unknown> = {}): DeviceCommand => ({
  id: `cmd-${name}-${JSON.stringify(args)}`,
  device: DEVICE,
  name,
  args,
  origin: 'local',
});

async function startWithThermometer(hciDevice: number) {
  const controller = host.controller(hciDevice);
  const device = controller.add(thermometer());
  const ctx = new RecordingContext();
  adapter = bleAdapterFromConfig({
    hciDevice,
    devices: [THERMO_CONFIG],
    reopen: { initialMs: 20, maxMs: 200 },
    scanStallMs: 600_000,
  });
  await adapter.start(ctx);
  return { controller, device, ctx, adapter };
}

const temperatures = (ctx: RecordingContext) => ctx.readingsOf(DEVICE).map((r) => r.values['temperature']);

describe('BLE adapter, GATT devices', () => {
  it('reads a GATT thermometer, and turns its notifications into readings', async () => {
    const { controller, device, ctx, adapter } = await startWithThermometer(0);
    await waitFor(() => temperatures(ctx).includes(21.5), 'the first read');
    controller.notify(device, '2a6e', int16le(2200));
    await waitFor(() => temperatures(ctx).includes(22), 'the notified value');
    expect(ctx.readingsOf(DEVICE).at(-1)!.units).toEqual({ temperature: '°C' });
    expect(adapter.devices()).toEqual([
      expect.objectContaining({
        id: DEVICE,
        name: 'greenhouse',
        availability: 'online',
        capabilities: {
          values: ['temperature'],
          commands: [
            { name: 'setLed', args: { level: { type: 'number', min: 0, max: 100 } } },
            { name: 'blink' },
          ],
        },
      }),
    ]);
  });

  it('reconnects with backoff when the link drops, and notifications resume', async () => {
    const { controller, device, ctx } = await startWithThermometer(1);
    await waitFor(() => temperatures(ctx).includes(21.5), 'the first read');
    controller.dropConnections();
    await waitFor(() => controller.connectionCount === 1, 'a new connection');
    await waitFor(
      () => temperatures(ctx).filter((t) => t === 21.5).length === 2,
      'the read after reconnecting',
    );
    controller.notify(device, '2a6e', int16le(1875));
    await waitFor(() => temperatures(ctx).includes(18.75), 'a notification over the new link');
  });

  it('writes command bytes to the device, with and without response', async () => {
    const { device, ctx, adapter } = await startWithThermometer(2);
    await waitFor(() => adapter.isReachable(DEVICE), 'the device to be connectable');
    expect(ctx.awakened).toEqual([DEVICE]);

    const signal = new AbortController().signal;
    await expect(adapter.execute(command('setLed', { level: 42 }), signal)).resolves.toMatchObject({
      status: 'ok',
    });
    await expect(adapter.execute(command('blink'), signal)).resolves.toMatchObject({ status: 'ok' });
    // A write without response resolves once queued; wait for the device to have it.
    await waitFor(() => device.writes.length === 2, 'both writes at the device');
    expect(device.writes).toEqual([
      { characteristic: 'ffe1', data: Buffer.from([0x01, 42]), withResponse: true },
      { characteristic: 'ffe1', data: Buffer.from([0x02]), withResponse: false },
    ]);
  });

  it('validates commands before sending anything, and never sends after the TTL', async () => {
    const { device, adapter } = await startWithThermometer(3);
    await waitFor(() => adapter.isReachable(DEVICE), 'the device to be connectable');
    const signal = new AbortController().signal;

    const results = await Promise.all([
      adapter.execute(command('selfDestruct'), signal),
      adapter.execute(command('setLed', { level: 101 }), signal),
      adapter.execute(command('setLed', {}), signal),
      adapter.execute(command('setLed', { level: 'high' }), signal),
      adapter.execute(command('blink', { times: 3 }), signal),
      adapter.execute({ ...command('blink'), device: 'ble:00:00:00:00:00:09' }, signal),
      adapter.execute(command('blink'), AbortSignal.abort()),
      adapter.execute({ ...command('blink'), expiresAt: Date.now() - 1 }, signal),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'unsupported',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'expired',
      'expired',
    ]);
    expect(results[1]?.detail).toBe("'level' must be between 0 and 100");
    expect(device.writes).toEqual([]);
  });

  it('polls devices on their interval within the connection limit', async () => {
    const controller = host.controller(4);
    const addresses = ['c0:ff:ee:00:00:0a', 'c0:ff:ee:00:00:0b'];
    for (const [i, address] of addresses.entries()) {
      controller.add(
        new VirtualPeripheral(address, adStructures([0x01, [0x06]]), [
          {
            uuid: '180f',
            characteristics: [{ uuid: '2a19', properties: ['read'], value: Buffer.from([60 + i]) }],
          },
        ]),
      );
    }
    const ctx = new RecordingContext();
    adapter = bleAdapterFromConfig({
      hciDevice: 4,
      maxConnections: 1,
      scanStallMs: 600_000,
      devices: addresses.map((address) => ({
        address,
        gatt: {
          readings: [
            {
              name: 'battery',
              service: '180f',
              characteristic: '2a19',
              format: 'uint8',
              unit: '%',
              intervalMs: 100,
            },
          ],
        },
      })),
    });
    await adapter.start(ctx);
    await waitFor(
      () => addresses.every((a) => ctx.readingsOf(`ble:${a}`).length >= 3),
      'three polls of each device',
    );
    expect(ctx.readingsOf('ble:c0:ff:ee:00:00:0b')[0]).toMatchObject({
      values: { battery: 61 },
      units: { battery: '%' },
    });
    expect(controller.mostConnections).toBe(1);
  });
});
