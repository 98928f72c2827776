import { createCipheriv } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DeviceSettings } from '../../../../adapters/adapter.js';
import type { BleAdapter } from '../../../../adapters/ble/index.js';
import type { DeviceId } from '../../../../src/model.js';
import { bleAdapterFromConfig } from '../../../fakes/ble/ble-test-adapter.js';
import { installFakeBluetooth } from '../../../fakes/ble/fake-hci-socket.js';
import {
  ADV_IND,
  ADV_NONCONN_IND,
  adStructures,
  advertisingReport,
  manufacturerAd,
  parseAdvertisingReport,
  serviceDataAd,
} from '../../../fakes/ble/hci-packets.js';
import { RecordingContext } from '../../../fakes/ble/recording-context.js';
import { waitFor } from '../../../fakes/wait-for.js';
import { CAPTURED } from '../../../fixtures/ble/captured-reports.js';
import { PUBLISHED_FRAMES, type PublishedFrame } from '../../../fixtures/ble/published-frames.js';

// Real noble (HCI, GAP parsing) over a fake HCI socket; each test gets its own controller (hciN).
const host = installFakeBluetooth();
let adapter: BleAdapter | undefined;
let nextHci = 20;

afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
});
afterAll(() => host.close());

/** The recording context with the `devices:` settings the config side hands the adapter. */
class SettingsContext extends RecordingContext {
  readonly settings = new Map<DeviceId, DeviceSettings>();
  deviceSettings(id: DeviceId): DeviceSettings | undefined {
    return this.settings.get(id);
  }
}

async function start(
  options: Record<string, unknown>,
  settings: Record<string, DeviceSettings> = {},
  stateDir?: string,
) {
  const hciDevice = nextHci++;
  const controller = host.controller(hciDevice);
  const ctx = new SettingsContext('ble', stateDir);
  for (const [id, s] of Object.entries(settings)) ctx.settings.set(id, s);
  adapter = bleAdapterFromConfig({ hciDevice, scanStallMs: 600_000, ...options });
  await adapter.start(ctx);
  await waitFor(() => ctx.state === 'running' && controller.scanning, 'scanning');
  return { controller, ctx, adapter };
}

/** The HCI report a frame arrives in: the published one, or one built around published service data. */
function reportOf(frame: PublishedFrame): Buffer {
  if (frame.hci !== undefined) return Buffer.from(frame.hci, 'hex');
  const ads = Object.entries(frame.serviceData ?? {}).map(([uuid, hex]) =>
    serviceDataAd(parseInt(uuid, 16), Buffer.from(hex, 'hex')),
  );
  return advertisingReport({
    address: frame.address!,
    eventType: ADV_NONCONN_IND,
    ad: adStructures(...ads),
    rssi: -60,
  });
}

const nonConnectable = (address: string, ad: Buffer, rssi = -70) =>
  advertisingReport({ address, eventType: ADV_NONCONN_IND, ad, rssi });

/** An encrypted BTHome v2 packet (bthome.io/encryption), sealed the way a sensor seals it. */
function sealBthome(address: string, key: Buffer, counter: number, objects: Buffer): Buffer {
  const deviceInfo = 0x41;
  const counterBytes = Buffer.alloc(4);
  counterBytes.writeUInt32LE(counter);
  const mac = Buffer.from(address.replaceAll(':', ''), 'hex');
  const nonce = Buffer.concat([mac, Buffer.from([0xd2, 0xfc, deviceInfo]), counterBytes]);
  const cipher = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: 4 });
  cipher.setAAD(Buffer.alloc(0), { plaintextLength: objects.length });
  const ciphertext = Buffer.concat([cipher.update(objects), cipher.final()]);
  const data = Buffer.concat([Buffer.from([deviceInfo]), ciphertext, counterBytes, cipher.getAuthTag()]);
  return nonConnectable(address, adStructures(serviceDataAd(0xfcd2, data)));
}

describe('BLE adapter, sensor families', () => {
  it.each(PUBLISHED_FRAMES)('$name becomes a reading with its published values', async (frame) => {
    const address = frame.address ?? parseAdvertisingReport(frame.hci!).address;
    const id = `ble:${address}`;
    const { controller, ctx } = await start(
      { allow: { macs: [address] } },
      frame.bindkey === undefined ? {} : { [id]: { bindkey: frame.bindkey } },
    );
    // noble reports a connectable ADV_IND only from its second copy on; other report types at once.
    const report = reportOf(frame);
    controller.inject(report);
    if (report[5] === ADV_IND) controller.inject(report);
    await waitFor(() => ctx.readings.length === 1, 'one reading');
    expect(ctx.readings[0]).toMatchObject({ device: id, values: frame.values });
    if (frame.counter !== undefined) expect(ctx.readings[0]!.seq).toBe(frame.counter);
    expect(ctx.devices.get(id)?.model).toBeDefined();
  });
});

describe('BLE adapter, devices with a key', () => {
  const encrypted = PUBLISHED_FRAMES.find((f) =>
    f.name.includes('test_bthome_v2_temperature_and_humidity_encrypted'),
  )!;
  const address = '54:48:e6:8f:80:a5';
  const id = `ble:${address}`;
  const key = Buffer.from(encrypted.bindkey!, 'hex');

  it('refuses and counts plain packets from a device that has a key, and warns once', async () => {
    const { controller, ctx, adapter } = await start({
      devices: [{ address, bindkey: encrypted.bindkey! }],
    });
    controller.inject(reportOf(encrypted));
    controller.inject(reportOf(encrypted));
    await waitFor(() => ctx.readings.length === 1, 'the encrypted packet');
    // The same device's plain packets (anyone can send them with its MAC): temperature + humidity, battery.
    controller.inject(CAPTURED.bthomeClimate);
    controller.inject(CAPTURED.bthomeClimate);
    controller.inject(CAPTURED.bthomeBattery);
    controller.inject(CAPTURED.bthomeBattery);
    await waitFor(() => (adapter.droppedFrames().notEncrypted ?? 0) >= 3, 'the plain packets refused');

    expect(ctx.readings).toHaveLength(1);
    expect(ctx.readings[0]!.values).toMatchObject({ temperature: 25.06, humidity: 50.55 });
    const warnings = ctx.logLines.filter((l) => l.level === 40 && l.reason === 'notEncrypted');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ device: id });
  });

  it('takes the key from the devices: settings too (MiBeacon v5)', async () => {
    const frame = PUBLISHED_FRAMES.find((f) => f.name.includes('test_Xiaomi_LYWSD03MMC_encrypted'))!;
    const mibeacon = parseAdvertisingReport(frame.hci!).address;
    const { controller, ctx, adapter } = await start(
      { allow: { macs: [mibeacon] } },
      { [`ble:${mibeacon}`]: { bindkey: frame.bindkey! } },
    );
    controller.inject(reportOf(frame));
    controller.inject(reportOf(frame));
    await waitFor(() => ctx.readings.length === 1, 'the encrypted MiBeacon packet');
    expect(ctx.readings[0]).toMatchObject({ device: `ble:${mibeacon}`, values: { humidity: 46.7 } });
    // The stock firmware's plain v3 format from the same MAC is a downgrade now.
    // MiBeacon v3 in the clear, as the stock LYWSD03MMC's published v3 frame but without the MAC field:
    // frame control 0x3040, product 0x055B, counter 4, temperature + humidity object.
    const spoof = Buffer.from('40305b05040d10041001ea01', 'hex');
    controller.inject(nonConnectable(mibeacon, adStructures(serviceDataAd(0xfe95, spoof))));
    await waitFor(() => adapter.droppedFrames().notEncrypted === 1, 'the plain packet refused');
    expect(ctx.readings).toHaveLength(1);
  });

  it('applies a key set in devices: settings while running (a reload) to the next packet', async () => {
    const { controller, ctx, adapter } = await start({ allow: { macs: [address] } });
    controller.inject(CAPTURED.bthomeClimate);
    controller.inject(CAPTURED.bthomeClimate);
    await waitFor(() => ctx.readings.length === 1, 'a plain packet while the device has no key');
    ctx.settings.set(id, { bindkey: encrypted.bindkey! });
    controller.inject(CAPTURED.bthomeBattery);
    controller.inject(CAPTURED.bthomeBattery);
    await waitFor(() => (adapter.droppedFrames().notEncrypted ?? 0) >= 1, 'plain packets refused once keyed');
    controller.inject(reportOf(encrypted));
    controller.inject(reportOf(encrypted));
    await waitFor(() => ctx.readings.length === 2, 'the encrypted packet');
    expect(ctx.readings.map((r) => r.values)).toEqual([
      { temperature: 25.06, humidity: 50.55, rssi: -52 },
      { temperature: 25.06, humidity: 50.55, rssi: -52 },
    ]);
    expect(ctx.readings[1]!.seq).toBe(0x33221100);
  });

  it('refuses and counts a packet whose counter is not newer than the last accepted one', async () => {
    const { controller, ctx, adapter } = await start({
      devices: [{ address, bindkey: encrypted.bindkey! }],
    });
    const climate = (t: number) => Buffer.from([0x02, t & 0xff, t >> 8, 0x03, 0xbf, 0x13]);
    const at10 = sealBthome(address, key, 10, climate(2000));
    const at11 = sealBthome(address, key, 11, climate(2100));
    controller.inject(at10);
    await waitFor(() => ctx.readings.length === 1, 'counter 10');
    controller.inject(at11);
    await waitFor(() => ctx.readings.length === 2, 'counter 11');
    // A recording of counter 10 sent again, and counter 11 repeated as sensors repeat every packet.
    controller.inject(at10);
    controller.inject(at11);
    controller.inject(sealBthome(address, key, 9, climate(1900)));
    await waitFor(() => adapter.droppedFrames().replayed === 2, 'the old counters refused');
    controller.inject(sealBthome(address, key, 12, climate(2200)));
    await waitFor(() => ctx.readings.length === 3, 'counter 12');

    expect(ctx.readings.map((r) => [r.seq, r.values.temperature])).toEqual([
      [10, 20],
      [11, 21],
      [12, 22],
    ]);
    expect(adapter.stats().duplicates).toBe(1);
    expect(ctx.logLines.filter((l) => l.level === 40 && l.reason === 'replayed')).toHaveLength(1);
  });

  const climate = (t: number) => Buffer.from([0x02, t & 0xff, t >> 8, 0x03, 0xbf, 0x13]);

  it('refuses after a restart a packet recorded before it: counters are kept in the state dir', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'fg-ble-counters-'));
    try {
      const options = { devices: [{ address, bindkey: encrypted.bindkey! }] };
      const before = await start(options, {}, stateDir);
      before.controller.inject(sealBthome(address, key, 10, climate(2000)));
      await waitFor(() => before.ctx.readings.length === 1, 'counter 10');
      before.controller.inject(sealBthome(address, key, 11, climate(2100)));
      await waitFor(() => before.ctx.readings.length === 2, 'counter 11');
      await before.adapter.stop();
      // What the file holds names the key by a digest only, never the key itself.
      const saved = await readFile(path.join(stateDir, 'replay-counters.json'), 'utf8');
      expect(saved).not.toContain(encrypted.bindkey!);
      expect(saved).not.toContain(key.toString('base64'));

      const after = await start(options, {}, stateDir);
      // Recordings of the last two packets heard before the restart: the very last one is a duplicate of
      // what was already delivered, the one before it a replay.
      after.controller.inject(sealBthome(address, key, 11, climate(2100)));
      after.controller.inject(sealBthome(address, key, 10, climate(2000)));
      await waitFor(
        () => after.adapter.droppedFrames().replayed === 1 && after.adapter.stats().duplicates === 1,
        'the recordings refused',
      );
      after.controller.inject(sealBthome(address, key, 12, climate(2200)));
      await waitFor(() => after.ctx.readings.length === 1, 'counter 12');
      expect(after.ctx.readings.map((r) => r.seq)).toEqual([12]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('trusts a sensor whose counter started over once the new counter keeps rising for 10 minutes', async () => {
    const { controller, ctx, adapter } = await start({ devices: [{ address, bindkey: encrypted.bindkey! }] });
    controller.inject(sealBthome(address, key, 50_000, climate(2000)));
    await waitFor(() => ctx.readings.length === 1, 'counter 50000');
    // New batteries: the counter starts again from 0, a packet every 4 minutes (the clock moved by the test).
    for (const counter of [0, 1, 2]) {
      ctx.skewMs = counter * 4 * 60_000;
      controller.inject(sealBthome(address, key, counter, climate(2100 + counter)));
      await waitFor(() => adapter.droppedFrames().replayed === counter + 1, `counter ${counter} held back`);
    }
    ctx.skewMs = 12 * 60_000;
    controller.inject(sealBthome(address, key, 3, climate(2103)));
    await waitFor(() => ctx.readings.length === 2, 'counter 3 trusted: 4 rising packets over 12 minutes');
    controller.inject(sealBthome(address, key, 4, climate(2104)));
    await waitFor(() => ctx.readings.length === 3, 'counter 4');

    expect(ctx.readings.map((r) => r.seq)).toEqual([50_000, 3, 4]);
    expect(ctx.logLines.filter((l) => l.level === 40 && l.device === id)).toHaveLength(1);
    expect(ctx.logLines.filter((l) => l.level === 30 && l.device === id && l.counter === 3)).toHaveLength(1);
  });

  it('never trusts a lower counter while the sensor’s own sequence is still heard (a replay)', async () => {
    const { controller, ctx, adapter } = await start({ devices: [{ address, bindkey: encrypted.bindkey! }] });
    controller.inject(sealBthome(address, key, 50_000, climate(2000)));
    await waitFor(() => ctx.readings.length === 1, 'counter 50000');
    // Recorded packets 10..15 (low, as after a battery change) played over 20 minutes, while the real sensor still sends now and then.
    let live = 50_000;
    for (let n = 0; n < 6; n++) {
      ctx.skewMs = n * 4 * 60_000;
      controller.inject(sealBthome(address, key, 10 + n, climate(1000 + n)));
      await waitFor(() => adapter.droppedFrames().replayed === n + 1, `recording ${n} refused`);
      if (n % 2 === 1) {
        live++;
        controller.inject(sealBthome(address, key, live, climate(2000 + n)));
        await waitFor(() => ctx.readings.some((r) => r.seq === live), `live packet ${live}`);
      }
    }
    expect(ctx.readings.map((r) => r.seq)).toEqual([50_000, 50_001, 50_002, 50_003]);
  });

  it('starts a device’s counter afresh when its key changes in devices: settings', async () => {
    const { controller, ctx } = await start(
      { allow: { macs: [address] } },
      { [id]: { bindkey: encrypted.bindkey! } },
    );
    controller.inject(sealBthome(address, key, 50_000, climate(2000)));
    await waitFor(() => ctx.readings.length === 1, 'counter 50000');
    // The operator re-keys the sensor (pvvx / BTHome firmware): its counter starts again under the new key.
    const newKey = Buffer.alloc(16, 0x5a);
    ctx.settings.set(id, { bindkey: newKey.toString('hex') });
    controller.inject(sealBthome(address, newKey, 1, climate(2100)));
    await waitFor(() => ctx.readings.length === 2, 'counter 1 under the new key');
    expect(ctx.readings.map((r) => r.seq)).toEqual([50_000, 1]);
  });

  it('counts a packet cut short at an unknown BTHome object in droppedFrames, keeping the values before it', async () => {
    const { controller, ctx, adapter } = await start({ allow: { macs: [address] } });
    // Temperature 25.06 °C, then object 0xEE, which no BTHome version defines.
    const cut = nonConnectable(
      address,
      adStructures(serviceDataAd(0xfcd2, Buffer.from('4002ca09ee01', 'hex'))),
    );
    controller.inject(cut);
    await waitFor(() => ctx.readings.length === 1, 'the temperature before the unknown object');
    await waitFor(() => adapter.droppedFrames().cutAtUnknownObject === 1, 'the cut packet counted');
    expect(ctx.readings[0]!.values).toEqual({ temperature: 25.06, rssi: -70 });
  });
});

describe('BLE adapter, several manufacturer-data structures in one advert', () => {
  it('decodes a Govee H5075 whose advert ends with an iBeacon structure', async () => {
    const govee = PUBLISHED_FRAMES.find((f) => f.name.startsWith('Govee H5075 ('))!;
    const packet = Buffer.from(govee.hci!, 'hex');
    const published = packet.subarray(14, 14 + packet[13]!);
    const { address } = parseAdvertisingReport(govee.hci!);
    const { controller, ctx } = await start({ allow: { macs: [address] } });
    // The published frame's structures (name, Govee data), then an Apple iBeacon structure as H5075s send.
    const ibeacon = manufacturerAd(0x004c, Buffer.from(`0215${'ab'.repeat(16)}000100020bc5`, 'hex'));
    const ad = Buffer.concat([published, adStructures(ibeacon)]);
    controller.inject(nonConnectable(address, ad, -66));
    await waitFor(() => ctx.readings.length === 1, 'the Govee reading');
    expect(ctx.readings[0]!.values).toEqual({ ...govee.values, rssi: -66 });
  });
});

describe('BLE adapter, devices nothing decodes', () => {
  it('counts an allowed device’s undecodable adverts and warns once; discovery lists it as unknown', async () => {
    const beacon = 'f0:99:00:00:00:01';
    const { controller, ctx, adapter } = await start({ allow: { macs: [beacon] } });
    // An Apple iBeacon frame: manufacturer data 0x004C, no sensor format.
    for (const minor of [1, 2, 3]) {
      const ibeacon = Buffer.concat([
        Buffer.from('0215', 'hex'),
        Buffer.alloc(16, 0xab),
        Buffer.from([0, 1, 0, minor, 0xc5]),
      ]);
      controller.inject(nonConnectable(beacon, adStructures(manufacturerAd(0x004c, ibeacon)), -81));
    }
    await waitFor(() => adapter.droppedFrames().undecoded === 3, 'three undecoded adverts');
    expect(ctx.readings).toHaveLength(0);
    const warnings = ctx.logLines.filter((l) => l.level === 40 && l.device === `ble:${beacon}`);
    expect(warnings).toHaveLength(1);
    expect(adapter.discoveredDevices()).toEqual([
      expect.objectContaining({ id: `ble:${beacon}`, family: 'unknown', rssi: -81, isForwarded: true }),
    ]);
  });

  it('lists every device heard in discovery, with its family or unknown and its RSSI', async () => {
    const { controller, adapter } = await start({ allow: { macs: [] } });
    const govee = PUBLISHED_FRAMES.find((f) => f.model === 'H5074')!;
    controller.inject(reportOf(govee));
    controller.inject(reportOf(govee));
    controller.inject(
      nonConnectable('de:ad:be:ef:00:02', adStructures([0x09, [...Buffer.from('phone')]]), -90),
    );
    await waitFor(() => adapter.discoveredDevices().length === 2, 'two devices heard');
    const byId = new Map(adapter.discoveredDevices().map((d) => [d.id, d]));
    expect(byId.get('ble:e0:12:1d:61:bb:aa')).toMatchObject({
      family: 'govee',
      model: 'H5074',
      rssi: -90,
      isForwarded: false,
    });
    expect(byId.get('ble:de:ad:be:ef:00:02')).toMatchObject({ family: 'unknown', name: 'phone', rssi: -90 });
  });
});
