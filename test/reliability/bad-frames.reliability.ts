import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Adapter } from '../../adapters/adapter.js';
import { AdvertIntake } from '../../adapters/ble/advert-intake.js';
import { ATC_UUID } from '../../adapters/ble/decoders/atc.js';
import { BTHOME_UUID } from '../../adapters/ble/decoders/bthome.js';
import { RUUVI_COMPANY_ID } from '../../adapters/ble/decoders/ruuvi.js';
import type { NoblePeripheral } from '../../adapters/ble/noble-types.js';
import { emptyStats } from '../../adapters/ble/stats.js';
import createZigbeeAdapter from '../../adapters/zigbee/index.js';
import { bleAdapterSchema } from '../../src/config/adapters/ble.js';
import { zigbeeAdapterSchema } from '../../src/config/adapters/zigbee.js';
import { RecordingContext as BleContext } from '../fakes/ble/recording-context.js';
import { installFakeAir } from '../fakes/zigbee/fake-coordinator.js';
import { eventually, RecordingContext as ZigbeeContext } from '../fakes/zigbee/recording-context.js';
import { SNZB02_TEMPERATURE_REPORT, sonoffSnzb02, unknownSensor } from '../fixtures/zigbee/devices.js';
import { seededFuzz, type Fuzz } from './support/fuzz.js';

/** Frames per decoder; `RELIABILITY_FRAMES` changes it, `RELIABILITY_SEED` replays a run. */
const FRAMES = Number(process.env.RELIABILITY_FRAMES ?? 2000);

/** A valid frame cut at a random point, or random bytes of a random length: what a noisy radio delivers. */
function garbage(fuzz: Fuzz, valid: Buffer): Buffer {
  return fuzz.chance(0.3) ? valid.subarray(0, fuzz.int(0, valid.length - 1)) : fuzz.bytes(fuzz.int(0, 48));
}

it(`BLE: ${FRAMES} garbage and truncated advertisements per format, none throws, each is counted`, () => {
  const fuzz = seededFuzz(21);
  const ctx = new BleContext();
  const stats = emptyStats();
  const {
    type: _type,
    enabled: _enabled,
    ...options
  } = bleAdapterSchema.parse({
    type: 'ble',
    allow: { names: ['fuzz*'] },
  });
  const intake = new AdvertIntake(ctx, options, new Map(), stats);
  // Known-good frames to cut short: BTHome v2 temperature, pvvx custom format, Ruuvi RAWv2.
  const formats = [
    { name: 'BTHome', uuid: BTHOME_UUID, valid: Buffer.from('40020ac409', 'hex') },
    { name: 'ATC/pvvx', uuid: ATC_UUID, valid: Buffer.from('eded0b38c1a4c409a01f0c0b5a0104', 'hex') },
    { name: 'Ruuvi', valid: Buffer.from('99040512fc5394c37c0004fffc040cac364200cdcbb8334c884f', 'hex') },
  ];
  const tally: string[] = [];
  for (const format of formats) {
    const before = { ...stats, dropped: { ...stats.dropped } };
    let thrown = 0;
    for (let n = 0; n < FRAMES; n++) {
      const data = garbage(fuzz, format.valid);
      const address = `a4:c1:38:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
      const advertisement =
        format.uuid === undefined
          ? {
              localName: 'fuzz',
              manufacturerData: Buffer.concat([
                Buffer.from([RUUVI_COMPANY_ID & 0xff, RUUVI_COMPANY_ID >> 8]),
                data,
              ]),
            }
          : { localName: 'fuzz', serviceData: [{ uuid: format.uuid, data }] };
      const peripheral = {
        address,
        rssi: -60,
        connectable: false,
        advertisement,
      } as unknown as NoblePeripheral;
      try {
        intake.onDiscover(peripheral);
      } catch {
        thrown++;
      }
    }
    const dropped = sum(stats.dropped) - sum(before.dropped);
    const readings = stats.readings - before.readings;
    const duplicates = stats.duplicates - before.duplicates;
    tally.push(
      `  ${format.name}: ${FRAMES} frames, ${thrown} threw, ${dropped} counted malformed ` +
        `(${JSON.stringify(delta(stats.dropped, before.dropped))}), ${readings} decoded, ${duplicates} duplicates, ` +
        // A well-formed frame that carries no values (a BTHome header alone) is neither: reported, not failed.
        `${FRAMES - dropped - readings - duplicates - thrown} well-formed but empty (not counted)`,
    );
    expect(thrown).toBe(0);
  }
  console.log(`bad frames, BLE (seed ${fuzz.seed}):\n${tally.join('\n')}`);
});

/** Per-reason counts added since `then`, the reasons that did not move left out. */
function delta(
  now: Partial<Record<string, number>>,
  then: Partial<Record<string, number>>,
): Record<string, number> {
  const added: Record<string, number> = {};
  for (const [reason, count = 0] of Object.entries(now)) {
    if (count !== (then[reason] ?? 0)) added[reason] = count - (then[reason] ?? 0);
  }
  return added;
}

const sum = (counts: Partial<Record<string, number>>) =>
  Object.values(counts).reduce((a = 0, b = 0) => a + b, 0) ?? 0;

let seam: ReturnType<typeof installFakeAir>;
let zigbeeCtx: ZigbeeContext;
let zigbee: Adapter;

beforeAll(async () => {
  seam = installFakeAir();
  zigbeeCtx = await ZigbeeContext.create();
  zigbee = createZigbeeAdapter(
    zigbeeAdapterSchema.parse({ type: 'zigbee', coordinator: 'ember', port: '/dev/ttyFAKE' }),
  );
  await zigbee.start(zigbeeCtx);
});

afterAll(async () => {
  await zigbee?.stop();
  seam?.restore();
  await zigbeeCtx?.dispose();
});

it(`Zigbee: ${FRAMES / 4} garbage and truncated ZCL frames into the real herdsman stack; the adapter still reads`, async () => {
  const fuzz = seededFuzz(31);
  const known = sonoffSnzb02();
  const unknown = unknownSensor();
  for (const device of [known, unknown]) {
    seam.air.coordinator.join(device);
    await eventually(
      () => (zigbeeCtx.devices.get(`zigbee:${device.ieeeAddr}`)?.capabilities.values.length ?? 0) > 1,
      `${device.ieeeAddr} to be identified`,
    );
  }
  const clusters = [0x0000, 0x0001, 0x0006, 0x0402, 0x0405, 0xfc00];
  let thrown = 0;
  for (let n = 0; n < FRAMES / 4; n++) {
    try {
      fuzz.pick([known, unknown]).sendFrame(1, fuzz.pick(clusters), garbage(fuzz, SNZB02_TEMPERATURE_REPORT));
    } catch {
      // Thrown by the fake coordinator's own header parse, before herdsman: not the adapter's doing.
      thrown++;
    }
  }
  // A valid report after the noise: the adapter still turns frames into readings.
  const before = zigbeeCtx.readings.length;
  known.sendFrame(1, 0x0402, SNZB02_TEMPERATURE_REPORT);
  await eventually(
    () => zigbeeCtx.readings.slice(before).some((r) => r.values.temperature !== undefined),
    'a reading after the garbage',
  );
  const droppedLogged = zigbeeCtx.logLines.filter(
    (l) => typeof l.msg === 'string' && /^Dropped a frame/.test(l.msg),
  ).length;
  console.log(
    `bad frames, Zigbee (seed ${fuzz.seed}): ${FRAMES / 4} frames, ${thrown} refused by the fake coordinator, ` +
      `${droppedLogged} logged as dropped by the adapter (it keeps no counter), ` +
      `${zigbeeCtx.readings.length - before} readings after the noise`,
  );
});
