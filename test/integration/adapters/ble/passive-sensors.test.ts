import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BleAdapter } from '../../../../adapters/ble/index.js';
import { bleAdapterFromConfig } from '../../../fakes/ble/ble-test-adapter.js';
import { installFakeBluetooth } from '../../../fakes/ble/fake-hci-socket.js';
import {
  ADV_NONCONN_IND,
  adStructures,
  advertisingReport,
  manufacturerAd,
  serviceDataAd,
} from '../../../fakes/ble/hci-packets.js';
import { RecordingContext } from '../../../fakes/ble/recording-context.js';
import { waitFor } from '../../../fakes/wait-for.js';
import { CAPTURED } from '../../../fixtures/ble/captured-reports.js';

// Real noble (HCI, GAP parsing) over a fake HCI socket; each test gets its own controller (hciN).
const host = installFakeBluetooth();
let adapter: BleAdapter | undefined;

afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
});
afterAll(() => host.close());

async function startOn(hciDevice: number, options: Record<string, unknown> = {}) {
  const controller = host.controller(hciDevice);
  const ctx = new RecordingContext();
  adapter = bleAdapterFromConfig({ hciDevice, scanStallMs: 600_000, ...options });
  await adapter.start(ctx);
  await waitFor(() => ctx.state === 'running' && controller.scanning, 'scanning');
  return { controller, ctx, adapter };
}

const nonConnectable = (address: string, ad: Buffer) =>
  advertisingReport({ address, eventType: ADV_NONCONN_IND, ad, rssi: -70 });

describe('BLE adapter, passive sensors', () => {
  it('turns captured BTHome v2 and Ruuvi reports into readings, one per packet', async () => {
    const { controller, ctx, adapter } = await startOn(0, {
      allow: { macs: ['54:48:E6:8F:80:A5', 'cd:d4:fa:52:7a:f2'] },
    });
    // Each report three times, as sensors repeat packets. noble reports a connectable ADV_IND from its
    // second copy on, so the first BTHome packet yields two discoveries and the others three each.
    for (const report of [CAPTURED.bthomeBattery, CAPTURED.bthomeClimate, CAPTURED.ruuvi]) {
      for (let copy = 0; copy < 3; copy++) controller.inject(report);
    }
    await waitFor(
      () => ctx.readings.length === 3 && adapter.stats().duplicates === 5,
      'three readings, five repeats dropped',
    );

    const bthome = ctx.readingsOf('ble:54:48:e6:8f:80:a5');
    expect(bthome.map((r) => r.values)).toEqual([
      { battery: 97, rssi: -52 },
      { temperature: 25.06, humidity: 50.55, rssi: -52 },
    ]);
    expect(bthome[0]).toMatchObject({ seq: 9, units: { battery: '%', rssi: 'dBm' } });
    expect(bthome[1]!.units).toEqual({ temperature: '°C', humidity: '%', rssi: 'dBm' });

    const ruuvi = ctx.readingsOf('ble:cd:d4:fa:52:7a:f2');
    expect(ruuvi).toHaveLength(1);
    expect(ruuvi[0]).toMatchObject({
      seq: 10675,
      values: {
        temperature: 25.01,
        humidity: 61.0425,
        pressure: 1004.16,
        accelerationX: -28,
        accelerationY: -36,
        accelerationZ: 1044,
        batteryVoltage: 3.181,
        txPower: 4,
        movementCounter: 236,
        rssi: -68,
      },
      units: { temperature: '°C', pressure: 'hPa', batteryVoltage: 'V' },
    });
    expect(ctx.devices.get('ble:cd:d4:fa:52:7a:f2')).toMatchObject({
      model: 'RuuviTag (data format 5)',
      availability: 'online',
      power: 'battery',
    });
    expect(
      adapter
        .devices()
        .map((d) => d.id)
        .sort(),
    ).toEqual(['ble:54:48:e6:8f:80:a5', 'ble:cd:d4:fa:52:7a:f2']);
  });

  it('drops and counts garbage advertisements, and keeps decoding good ones', async () => {
    const sensor = 'aa:bb:cc:00:00:01';
    const { controller, ctx, adapter } = await startOn(1, { allow: { macs: [sensor] } });
    const garbage = [
      adStructures(serviceDataAd(0xfcd2, Buffer.from('4002ca', 'hex'))), // temperature cut short
      adStructures(serviceDataAd(0xfcd2, Buffer.from('40ee01', 'hex'))), // no such object id
      adStructures(serviceDataAd(0xfcd2, Buffer.from('2001', 'hex'))), // BTHome v1 header
      adStructures(serviceDataAd(0x181a, Buffer.alloc(9))), // neither ATC1441 nor pvvx length
      adStructures(manufacturerAd(0x0499, Buffer.from('05138a', 'hex'))), // Ruuvi cut short
      adStructures(serviceDataAd(0xfcd2, Buffer.from('40', 'hex'))), // BTHome header, no objects
    ];
    for (const ad of garbage) controller.inject(nonConnectable(sensor, ad));
    controller.inject(
      nonConnectable(sensor, adStructures(serviceDataAd(0xfcd2, Buffer.from('400131', 'hex')))),
    );

    await waitFor(() => ctx.readings.length === 1, 'the good packet after the garbage');
    const dropped = { truncated: 2, unknownObject: 1, unsupportedVersion: 1, badLength: 1, empty: 1 };
    expect(adapter.stats().dropped).toEqual(dropped);
    // What `status` shows for the adapter.
    expect(adapter.droppedFrames()).toEqual(dropped);
    expect(ctx.readings[0]!.values).toEqual({ battery: 49, rssi: -70 });
    expect(ctx.state).toBe('running');
  });

  it('forwards only allowed sensors; discovery lists the others too, not forwarded', async () => {
    const stranger = 'de:ad:be:ef:00:01';
    const { controller, ctx, adapter } = await startOn(2, { allow: { names: ['ATC_*'] } });
    const atc = Buffer.from('a4c13801020300e1375a0b8a2a', 'hex');
    controller.inject(nonConnectable(stranger, adStructures(serviceDataAd(0x181a, atc))));
    const named = adStructures([0x09, [...Buffer.from('ATC_010203')]], serviceDataAd(0x181a, atc));
    controller.inject(nonConnectable('a4:c1:38:01:02:03', named));

    await waitFor(() => ctx.readings.length === 1, 'a reading from the allowed name');
    expect(ctx.readings[0]).toMatchObject({ device: 'ble:a4:c1:38:01:02:03', values: { temperature: 22.5 } });
    // Discovery lists every device heard, and says which ones are forwarded.
    expect(adapter.discoveredDevices()).toEqual([
      expect.objectContaining({
        id: `ble:${stranger}`,
        model: 'Thermometer, ATC1441 firmware',
        family: 'atc1441',
        rssi: -70,
        isForwarded: false,
      }),
      expect.objectContaining({ id: 'ble:a4:c1:38:01:02:03', family: 'atc1441', isForwarded: true }),
    ]);
    expect(adapter.devices().map((d) => d.id)).toEqual(['ble:a4:c1:38:01:02:03']);
  });

  it('marks a sensor offline after missing its learned advertising interval, and online when heard', async () => {
    const sensor = 'aa:bb:cc:00:00:03';
    const id = `ble:${sensor}`;
    const { controller, ctx } = await startOn(3, {
      allow: { macs: [sensor] },
      availability: { missedIntervals: 5, minOfflineMs: 1000, maxOfflineMs: 3_600_000 },
    });
    const report = (packetId: number) =>
      nonConnectable(
        sensor,
        adStructures(serviceDataAd(0xfcd2, Buffer.from([0x40, 0x00, packetId, 0x01, 90]))),
      );
    // Packets every 10 s of gateway time: the learned interval is 10 s, so offline after 50 s.
    for (let packetId = 1; packetId <= 3; packetId++) {
      controller.inject(report(packetId));
      await waitFor(() => ctx.readings.length === packetId, `packet ${packetId}`);
      ctx.skewMs += 10_000;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ctx.devices.get(id)?.availability).toBe('online');

    ctx.skewMs += 41_000;
    await waitFor(
      () => ctx.devices.get(id)?.availability === 'offline',
      'offline after five missed intervals',
    );
    controller.inject(report(4));
    await waitFor(() => ctx.devices.get(id)?.availability === 'online', 'online again');
  });
});
