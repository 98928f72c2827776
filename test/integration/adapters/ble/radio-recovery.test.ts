import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BleAdapter } from '../../../../adapters/ble/index.js';
import { bleAdapterFromConfig } from '../../../fakes/ble/ble-test-adapter.js';
import { installFakeBluetooth } from '../../../fakes/ble/fake-hci-socket.js';
import {
  ADV_NONCONN_IND,
  adStructures,
  advertisingReport,
  serviceDataAd,
} from '../../../fakes/ble/hci-packets.js';
import { RecordingContext } from '../../../fakes/ble/recording-context.js';
import { VirtualPeripheral } from '../../../fakes/ble/virtual-peripheral.js';
import { waitFor } from '../../../fakes/wait-for.js';

// The radio failing under a real noble: no Bluetooth in the kernel, no such adapter, powered off, and a
// scan that silently stops.
const host = installFakeBluetooth();
let adapter: BleAdapter | undefined;

afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
  host.hasBluetooth = true;
});
afterAll(() => host.close());

const SENSOR = 'aa:bb:cc:00:00:02';
const bthomeReport = (packetId: number) =>
  advertisingReport({
    address: SENSOR,
    eventType: ADV_NONCONN_IND,
    ad: adStructures(serviceDataAd(0xfcd2, Buffer.from([0x40, 0x00, packetId, 0x01, 80]))),
    rssi: -60,
  });

describe('BLE adapter, radio recovery', () => {
  it('reports unavailable without Bluetooth in the kernel, and comes up when it appears', async () => {
    host.hasBluetooth = false;
    host.controller(0);
    const ctx = new RecordingContext();
    adapter = bleAdapterFromConfig({ hciDevice: 0, reopen: { initialMs: 20, maxMs: 100 } });
    await adapter.start(ctx);

    expect(ctx.statuses).toContainEqual({
      state: 'unavailable',
      detail: 'this kernel has no Bluetooth support (AF_BLUETOOTH unavailable)',
    });
    await waitFor(() => adapter!.stats().radioReopens >= 2, 'reopen attempts with backoff');
    host.hasBluetooth = true;
    await waitFor(() => ctx.state === 'running', 'the adapter to run once the radio exists');
  });

  it('reports a missing adapter by name', async () => {
    const ctx = new RecordingContext();
    adapter = bleAdapterFromConfig({ hciDevice: 7, reopen: { initialMs: 20, maxMs: 100 } });
    await adapter.start(ctx);
    expect(ctx.statuses.at(-1)).toEqual({ state: 'unavailable', detail: 'no Bluetooth adapter hci7' });
    host.controller(7);
    await waitFor(() => ctx.state === 'running', 'the adapter to run once hci7 exists');
  });

  it('goes unavailable while the adapter is powered off, and scans again when it is back', async () => {
    const controller = host.controller(1);
    const ctx = new RecordingContext();
    adapter = bleAdapterFromConfig({ hciDevice: 1, allow: { macs: [SENSOR] } });
    await adapter.start(ctx);
    await waitFor(() => ctx.state === 'running', 'running');

    controller.isPoweredOn = false;
    await waitFor(() => ctx.state === 'unavailable', 'unavailable');
    expect(ctx.statuses.at(-1)!.detail).toBe('Bluetooth adapter hci1 is powered off or blocked by rfkill');

    controller.isPoweredOn = true;
    await waitFor(() => ctx.state === 'running' && controller.scanning, 'scanning again');
    controller.inject(bthomeReport(1));
    await waitFor(() => ctx.readings.length === 1, 'a reading after power returned');
  });

  it('restarts a scan that silently stopped delivering advertisements', async () => {
    const controller = host.controller(2);
    // A neighbour advertising all the time keeps a healthy scan busy, so only the stall trips the watchdog.
    controller.add(new VirtualPeripheral('aa:bb:cc:00:00:99', adStructures([0x01, [0x06]]), []));
    const ctx = new RecordingContext();
    adapter = bleAdapterFromConfig({ hciDevice: 2, allow: { macs: [SENSOR] }, scanStallMs: 1000 });
    await adapter.start(ctx);
    await waitFor(() => ctx.state === 'running' && controller.scanning, 'scanning');
    controller.inject(bthomeReport(1));
    await waitFor(() => ctx.readings.length === 1, 'a reading before the stall');
    expect(adapter.stats().scanRestarts).toBe(0);

    controller.stallScan();
    await waitFor(() => controller.scanning, 'the watchdog to restart the scan');
    expect(adapter.stats().scanRestarts).toBe(1);
    controller.inject(bthomeReport(2));
    await waitFor(() => ctx.readings.length === 2, 'readings again after the restart');
  });
});
