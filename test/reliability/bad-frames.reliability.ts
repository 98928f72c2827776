import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Adapter } from '../../adapters/adapter.js';
import { AdvertIntake } from '../../adapters/ble/advert-intake.js';
import { ATC_UUID } from '../../adapters/ble/decoders/atc.js';
import { BTHOME_UUID } from '../../adapters/ble/decoders/bthome.js';
import { RUUVI_COMPANY_ID } from '../../adapters/ble/decoders/ruuvi.js';
import type { NoblePeripheral } from '../../adapters/ble/noble-types.js';
import { emptyStats } from '../../adapters/ble/stats.js';
import zigbeeDefinition from '../../adapters/zigbee/index.js';
import { bleOptionsSchema } from '../../adapters/ble/options.js';
import { RecordingContext as BleContext } from '../fakes/ble/recording-context.js';
import { installFakeAir } from '../fakes/zigbee/fake-coordinator.js';
import { eventually, RecordingContext as ZigbeeContext } from '../fakes/zigbee/recording-context.js';
import { SNZB02_TEMPERATURE_REPORT, sonoffSnzb02, unknownSensor } from '../fixtures/zigbee/devices.js';
import zwaveDefinition from '../../adapters/zwave/index.js';
import { zwaveOptions } from '../fakes/zwave/adapter-options.js';
import { MockStick } from '../fakes/zwave/mock-stick.js';
import { addSwitchWithThermometer } from '../fakes/zwave/nodes.js';
import {
  recordingContext as zwaveRecordingContext,
  until,
  type RecordingContext as ZwaveContext,
} from '../fakes/zwave/recording-context.js';
import {
  RESYNC,
  airTemperatureReport,
  applicationCommand,
  serialRequest,
} from '../fakes/zwave/serial-frames.js';
import { seededFuzz, type Fuzz } from './support/fuzz.js';

/** Home id 0x7e570001 (MockStick's default), node 2. */
const ZWAVE_NODE = 'zwave:7e570001-2';

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
  const options = bleOptionsSchema.parse({ allow: { names: ['fuzz*'] } });
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
    // A packet cut at an unknown object is a reading (the values before it) and counted as cut too.
    const cut = (stats.dropped.cutAtUnknownObject ?? 0) - (before.dropped.cutAtUnknownObject ?? 0);
    const dropped = sum(stats.dropped) - sum(before.dropped) - cut;
    const readings = stats.readings - before.readings;
    const duplicates = stats.duplicates - before.duplicates;
    tally.push(
      `  ${format.name}: ${FRAMES} frames, ${thrown} threw, ${dropped} counted dropped ` +
        `(${JSON.stringify(delta(stats.dropped, before.dropped))}), ${readings} decoded, ${duplicates} duplicates`,
    );
    expect(thrown).toBe(0);
    // Each frame is accounted for once: a reading, a repeat of one, or a drop with its reason (`empty` too).
    expect(dropped + readings + duplicates).toBe(FRAMES);
    expect(cut).toBeLessThanOrEqual(readings + duplicates);
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

describe('Zigbee', () => {
  let seam: ReturnType<typeof installFakeAir>;
  let zigbeeCtx: ZigbeeContext;
  let zigbee: Adapter;

  beforeAll(async () => {
    seam = installFakeAir();
    zigbeeCtx = await ZigbeeContext.create();
    zigbee = zigbeeDefinition.create({ coordinator: 'ember', serialPort: '/dev/ttyFAKE' });
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
        fuzz
          .pick([known, unknown])
          .sendFrame(1, fuzz.pick(clusters), garbage(fuzz, SNZB02_TEMPERATURE_REPORT));
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
    const counted = zigbee.droppedFrames?.() ?? {};
    console.log(
      `bad frames, Zigbee (seed ${fuzz.seed}): ${FRAMES / 4} frames, ${thrown} refused by the fake coordinator, ` +
        `${sum(counted)} counted dropped ${JSON.stringify(counted)} (${droppedLogged} logged), ` +
        `${zigbeeCtx.readings.length - before} readings after the noise`,
    );
    // Every frame the adapter logged as dropped is in the count `status` shows.
    expect(sum(counted)).toBe(droppedLogged);
    expect(sum(counted)).toBeGreaterThan(0);
  });
});

describe('Z-Wave', () => {
  let stick: MockStick;
  let zwaveCtx: ZwaveContext;
  let zwave: Adapter;

  beforeAll(async () => {
    stick = await MockStick.start();
    await addSwitchWithThermometer(stick);
    zwaveCtx = await zwaveRecordingContext();
    zwave = zwaveDefinition.create(zwaveOptions(stick.url));
    await zwave.start(zwaveCtx);
    await until(
      () => zwaveCtx.devices.get(ZWAVE_NODE)?.capabilities.values.includes('temperature') === true,
      'the interview of node 2',
    );
  });

  afterAll(async () => {
    await zwave?.stop();
    await stick?.close();
  });

  it(`Z-Wave: ${FRAMES / 10} garbage, cut-short and malformed serial frames into the real zwave-js driver; it still reads`, async () => {
    const fuzz = seededFuzz(41);
    const report = applicationCommand(2, airTemperatureReport(22.5));
    // Command classes node 2 has, and Basic: malformed payloads of these reach zwave-js's CC parsers.
    const knownCcs = [0x20, 0x25, 0x31, 0x72, 0x86];
    const cases: Record<string, () => Buffer> = {
      noise: () => fuzz.bytes(fuzz.int(1, 48)),
      cutShort: () => report.subarray(0, fuzz.int(1, report.length - 1)),
      badChecksum: () =>
        Buffer.concat([report.subarray(0, -1), Buffer.from([report.at(-1)! ^ fuzz.int(1, 255)])]),
      randomFrame: () => Buffer.concat([Buffer.from([0x01]), fuzz.bytes(fuzz.int(1, 48))]),
      // The command is kept (a command class id alone is ignored by zwave-js without a word), its fields cut.
      cutShortCc: () => applicationCommand(2, airTemperatureReport(22.5).subarray(0, fuzz.int(2, 5))),
      randomCc: () =>
        applicationCommand(
          2,
          Buffer.concat([Buffer.from([fuzz.pick(knownCcs)]), fuzz.bytes(fuzz.int(0, 8))]),
        ),
      // A command class id zwave-js does not know, with random fields.
      unknownCc: () =>
        applicationCommand(2, Buffer.concat([Buffer.from([0xee, 0x01]), fuzz.bytes(fuzz.int(0, 6))])),
      // A well-framed request of a Serial API function no stick sends.
      unknownFunction: () => serialRequest(fuzz.int(0xe0, 0xef), fuzz.bytes(fuzz.int(0, 8))),
      lyingLength: () =>
        serialRequest(0x04, Buffer.from([0x00, 0x02, fuzz.int(7, 40), ...airTemperatureReport(1)])),
    };
    /** Per kind: cases sent, and how many of them the adapter counted as dropped. */
    const tally: Record<string, { sent: number; counted: number }> = {};
    for (let n = 0; n < FRAMES / 10; n++) {
      const kind = fuzz.pick(Object.keys(cases));
      const countedBefore = sum(zwave.droppedFrames?.() ?? {});
      // RESYNC ends a frame the driver still waits for, so each case is judged on its own bytes.
      await stick.sendRawToHost(Buffer.concat([cases[kind]!(), RESYNC]));
      // A valid report after each case: the driver still reads, and has handled the case before it.
      const temperature = Number((10 + n / 100).toFixed(2));
      await stick.sendRawToHost(applicationCommand(2, airTemperatureReport(temperature)));
      await until(
        () => zwaveCtx.readings.some((r) => r.values.temperature === temperature),
        `the reading after case ${n} (${kind})`,
      );
      const entry = (tally[kind] ??= { sent: 0, counted: 0 });
      entry.sent += 1;
      entry.counted += sum(zwave.droppedFrames?.() ?? {}) - countedBefore;
    }
    const counted = zwave.droppedFrames?.() ?? {};
    console.log(
      `bad frames, Z-Wave (seed ${fuzz.seed}): ${FRAMES / 10} cases, each followed by a valid report that ` +
        `gave its reading; adapter ${zwaveCtx.state}; ${sum(counted)} counted dropped ${JSON.stringify(counted)}\n` +
        Object.entries(tally)
          .map(([kind, t]) => `  ${kind}: ${t.sent} sent, ${t.counted} counted`)
          .join('\n'),
    );
    expect(zwaveCtx.state).toBe('running');
    // Frames zwave-js refuses are all counted. Line noise is skipped by its serial parser as the Serial API
    // asks; random command fields and a lying CC length it reads as it can (some give readings): not counted.
    // (A random frame is refused unless its last byte happens to be its checksum: reported, not asserted.)
    for (const kind of ['cutShort', 'badChecksum', 'cutShortCc', 'unknownFunction']) {
      expect(tally[kind]?.counted, kind).toBe(tally[kind]?.sent);
    }
    expect(sum(counted)).toBeGreaterThan(0);
  });
});
