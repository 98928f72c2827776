import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import zigbeeDefinition from '../../../../adapters/zigbee/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import type { DeviceCommand, DeviceInfo } from '../../../../src/model.js';
import { installFakeAir, type FakeAir } from '../../../fakes/zigbee/fake-coordinator.js';
import { eventually, RecordingContext } from '../../../fakes/zigbee/recording-context.js';
import type { ReceivedFrame, VirtualDevice } from '../../../fakes/zigbee/virtual-device.js';
import {
  aqaraWeather,
  hueColorBulb,
  ikeaBulb,
  ikeaOutlet,
  sonoffSnzb02,
  tuyaTrv,
  tuyaValueReport,
} from '../../../fixtures/zigbee/devices.js';

// Real zigbee-herdsman Controller and zigbee-herdsman-converters with the real definitions of devices
// people own; only the coordinator below herdsman's Adapter seam is fake (test/fakes/zigbee).

const AWAKE_WINDOW_MS = 5000;
const MINUTE = 60_000;

let seam: ReturnType<typeof installFakeAir> | undefined;
let air: FakeAir;
let ctx: RecordingContext;
let adapter: Adapter | undefined;
let portDir: string | undefined;

async function startAdapter(options: Record<string, unknown> = {}): Promise<void> {
  seam = installFakeAir();
  air = seam.air;
  ctx = await RecordingContext.create();
  adapter = zigbeeDefinition.create({
    coordinator: 'ember',
    serialPort: '/dev/ttyFAKE',
    awakeWindowMs: AWAKE_WINDOW_MS,
    reopen: { initialMs: 20, maxMs: 100 },
    availability: { checkIntervalMs: 20 },
    ...options,
  });
  await adapter.start(ctx);
}

afterEach(async () => {
  await adapter?.stop();
  seam?.restore();
  await ctx.dispose();
  if (portDir !== undefined) await rm(portDir, { recursive: true, force: true });
  adapter = undefined;
  portDir = undefined;
});

const idOf = (device: VirtualDevice): string => `zigbee:${device.ieeeAddr}`;

async function pair(device: VirtualDevice): Promise<DeviceInfo> {
  air.coordinator.join(device);
  return eventually(() => {
    const info = ctx.devices.get(idOf(device));
    return info?.model !== undefined && info.capabilities.values.length > 1 && info;
  }, `${device.ieeeAddr} to be identified`);
}

function command(device: VirtualDevice, name: string, args: Record<string, unknown> = {}): DeviceCommand {
  return { id: `cmd-${name}-${Math.random()}`, device: idOf(device), name, args, origin: 'local' };
}

const run = (device: VirtualDevice, name: string, args: Record<string, unknown> = {}) =>
  adapter!.execute(command(device, name, args), new AbortController().signal);

/** The frames the device received from `from` on, without the coordinator's own reads. */
const framesSince = (device: VirtualDevice, from: number): ReceivedFrame[] =>
  device.received.slice(from).filter((f) => f.command !== 'read' && f.command !== 'configReport');

describe('Zigbee lights: colour, transition, one frame', () => {
  it('sets a Hue bulb colour as xy, hex and hue/saturation, and its colour temperature', async () => {
    await startAdapter();
    const bulb = hueColorBulb();
    const info = await pair(bulb);
    expect(info).toMatchObject({ manufacturer: 'Philips', model: '9290012573A', power: 'mains' });
    const set = info.capabilities.commands.find((c) => c.name === 'set');
    expect(set?.args).toMatchObject({
      colorX: { type: 'number' },
      colorY: { type: 'number' },
      colorHue: { type: 'number' },
      colorSaturation: { type: 'number' },
      color: { type: 'string' },
      colorTemp: { type: 'number' },
      transition: { type: 'number', min: 0 },
    });

    let from = bulb.received.length;
    expect(await run(bulb, 'set', { colorX: 0.7006, colorY: 0.2993, transition: 2 })).toMatchObject({
      status: 'ok',
    });
    // ZCL Move to Color: CurrentX = x × 65535, in tenths of a second of transition.
    expect(framesSince(bulb, from)).toMatchObject([
      {
        cluster: 'lightingColorCtrl',
        command: 'moveToColor',
        payload: { colorx: 45914, colory: 19615, transtime: 20 },
      },
    ]);

    from = bulb.received.length;
    expect(await run(bulb, 'set', { color: '#0000ff' })).toMatchObject({ status: 'ok' });
    const hex = framesSince(bulb, from);
    expect(hex).toHaveLength(1);
    expect(hex[0]).toMatchObject({ cluster: 'lightingColorCtrl', command: 'moveToColor' });

    from = bulb.received.length;
    expect(await run(bulb, 'set', { colorHue: 120, colorSaturation: 100 })).toMatchObject({ status: 'ok' });
    const hs = framesSince(bulb, from);
    expect(hs).toHaveLength(1);
    expect(hs[0]).toMatchObject({ cluster: 'lightingColorCtrl' });
    expect(hs[0]!.command).toMatch(/HueAndSaturation/);

    from = bulb.received.length;
    expect(await run(bulb, 'set', { colorTemp: 300 })).toMatchObject({ status: 'ok' });
    expect(framesSince(bulb, from)).toMatchObject([
      {
        cluster: 'lightingColorCtrl',
        command: 'moveToColorTemp',
        payload: { colortemp: 300 },
      },
    ]);

    expect((await run(bulb, 'set', { color: 'blue' })).status).toBe('rejected');
  });

  it('turns an IKEA bulb on at a brightness in one frame, with a transition', async () => {
    await startAdapter();
    const bulb = ikeaBulb();
    const info = await pair(bulb);
    expect(info).toMatchObject({ manufacturer: 'IKEA', model: 'LED1545G12' });

    const from = bulb.received.length;
    expect(await run(bulb, 'set', { state: 'ON', brightness: 128, transition: 1.5 })).toMatchObject({
      status: 'ok',
    });
    expect(framesSince(bulb, from)).toMatchObject([
      {
        cluster: 'genLevelCtrl',
        command: 'moveToLevelWithOnOff',
        payload: { level: 128, transtime: 15 },
      },
    ]);
  });

  it('applies the operator’s converter options: a default transition for the bulb', async () => {
    await startAdapter();
    const bulb = ikeaBulb();
    ctx.settings.set(idOf(bulb), { converterOptions: { transition: 3 } });
    await pair(bulb);

    const from = bulb.received.length;
    expect(await run(bulb, 'set', { brightness: 200 })).toMatchObject({ status: 'ok' });
    expect(framesSince(bulb, from)).toMatchObject([
      {
        cluster: 'genLevelCtrl',
        payload: { level: 200, transtime: 30 },
      },
    ]);
  });
});

describe('Zigbee devices without Poll Control', () => {
  it('sends a Tuya radiator valve its setpoint at once, not at its next report', async () => {
    await startAdapter();
    const trv = tuyaTrv();
    const info = await pair(trv);
    expect(info).toMatchObject({ manufacturer: 'Tuya', model: 'TS0601_thermostat', power: 'battery' });

    ctx.clockMs += 10 * MINUTE; // long after it joined, and it has said nothing since
    expect(adapter!.isReachable(idOf(trv))).toBe(true);
    const from = trv.received.length;
    expect(await run(trv, 'set', { currentHeatingSetpoint: 21 })).toMatchObject({ status: 'ok' });
    // Tuya data point 2 (setpoint), type 2 (value, 4 bytes big-endian) 210 = 21.0 °C; sent without a
    // default response, so it lands on the device a moment after the command is answered.
    const frame = await eventually(
      () => trv.received.slice(from).find((f) => f.cluster === 'manuSpecificTuya'),
      'the data point frame',
    );
    expect(frame).toMatchObject({
      command: 'dataRequest',
      payload: { dpValues: [{ dp: 2, datatype: 2, data: Buffer.from([0, 0, 0, 210]) }] },
    });
  });
});

describe('Zigbee device announces', () => {
  it('passes a re-announce to the converters: an IKEA bulb gets its reporting back after a power cycle', async () => {
    await startAdapter();
    const bulb = ikeaBulb();
    ctx.settings.set(idOf(bulb), { reporting: { brightness: { minIntervalS: 1, maxIntervalS: 300 } } });
    await pair(bulb);
    const configReports = (): number => bulb.received.filter((f) => f.command === 'configReport').length;
    await eventually(() => configReports() > 0, 'reporting to be configured at join');
    const before = configReports();

    air.coordinator.announce(bulb);
    await eventually(() => configReports() > before, 'reporting to be configured again after the announce');
  });
});

describe('Zigbee availability', () => {
  it('pings an idle mains bulb instead of calling it offline, and calls it offline when it does not answer', async () => {
    await startAdapter();
    const bulb = ikeaBulb();
    await pair(bulb);
    const id = idOf(bulb);
    expect(ctx.devices.get(id)?.availability).toBe('online');

    const readsBefore = bulb.received.filter((f) => f.command === 'read').length;
    ctx.clockMs += 11 * MINUTE; // an idle bulb reports nothing
    await eventually(
      () => bulb.received.filter((f) => f.command === 'read').length > readsBefore,
      'the bulb to be pinged',
    );
    await eventually(
      () => adapter!.devices().find((d) => d.id === id)?.lastSeen === ctx.clockMs,
      'the ping answer to count',
    );
    expect(ctx.devices.get(id)?.availability).toBe('online');

    air.unreachable.add(bulb); // switched off at the wall
    ctx.clockMs += 11 * MINUTE;
    await eventually(() => ctx.devices.get(id)?.availability === 'offline', 'the bulb to go offline');
  });

  it('holds a battery sensor to its hourly heartbeat and never pings it', async () => {
    await startAdapter();
    const sensor = aqaraWeather();
    const info = await pair(sensor);
    expect(info).toMatchObject({ manufacturer: 'Aqara', model: 'WSDCGQ11LM', power: 'battery' });
    const id = idOf(sensor);
    const readsAfterJoin = sensor.received.filter((f) => f.command === 'read').length;
    // The definition says it checks in hourly: offline after 2.5 missed heartbeats (the default policy).
    ctx.clockMs += 140 * MINUTE;
    expect(adapter!.devices().find((d) => d.id === id)?.availability).not.toBe('offline');
    ctx.clockMs += 20 * MINUTE;
    await eventually(() => ctx.devices.get(id)?.availability === 'offline', 'the sensor to go offline');
    expect(sensor.received.filter((f) => f.command === 'read')).toHaveLength(readsAfterJoin);
  });
});

describe('Zigbee readings with real definitions', () => {
  it('reads an Aqara weather sensor, with the operator’s converter calibration', async () => {
    await startAdapter();
    const sensor = aqaraWeather();
    ctx.settings.set(idOf(sensor), { converterOptions: { temperature_calibration: -1.5 } });
    await pair(sensor);
    sensor.report(1, 'msTemperatureMeasurement', { measuredValue: 2150 });
    sensor.report(1, 'msRelativeHumidity', { measuredValue: 4520 });
    sensor.report(1, 'msPressureMeasurement', { measuredValue: 1013 });
    const values = await eventually(() => {
      const all = Object.assign({}, ...ctx.readingsOf(idOf(sensor)).map((r) => r.values)) as Record<
        string,
        unknown
      >;
      return all.pressure !== undefined && all.humidity !== undefined && all.temperature !== undefined && all;
    }, 'temperature, humidity and pressure');
    expect(values).toMatchObject({ temperature: 20, humidity: 45.2, pressure: 1013 });
  });

  it('reads what bulbs and a Tuya valve report', async () => {
    await startAdapter();
    const hue = hueColorBulb();
    const ikea = ikeaBulb();
    const trv = tuyaTrv();
    for (const device of [hue, ikea, trv]) await pair(device);
    const latest = (device: VirtualDevice): Record<string, unknown> =>
      Object.assign({}, ...ctx.readingsOf(idOf(device)).map((r) => r.values)) as Record<string, unknown>;

    ikea.report(1, 'genLevelCtrl', { currentLevel: 100 });
    ikea.report(1, 'genOnOff', { onOff: 1 });
    await eventually(() => latest(ikea).brightness === 100 && latest(ikea).state === 'ON', 'IKEA state');
    // ZCL CurrentX / CurrentY in 1/65535.
    hue.report(11, 'lightingColorCtrl', { currentX: 45914, currentY: 19615 });
    await eventually(() => latest(hue).colorX !== undefined, 'Hue colour');
    expect(latest(hue)).toMatchObject({ colorX: 0.7006, colorY: 0.2993 });
    trv.sendFrame(1, 0xef00, tuyaValueReport(0x21, 3, 215));
    await eventually(() => latest(trv).localTemperature !== undefined, 'valve temperature');
    expect(latest(trv).localTemperature).toBe(21.5);
  });

  it('configures the operator’s reporting intervals on an SNZB-02', async () => {
    await startAdapter();
    const sensor = sonoffSnzb02();
    ctx.settings.set(idOf(sensor), {
      reporting: { temperature: { minIntervalS: 10, maxIntervalS: 600, change: 0.5 } },
    });
    await pair(sensor);
    const configured = await eventually(
      () =>
        sensor.received.find(
          (f) =>
            f.cluster === 'msTemperatureMeasurement' &&
            f.command === 'configReport' &&
            JSON.stringify(f.payload).includes('"maxRepIntval":600'),
        ),
      'the operator’s reporting to be configured',
    );
    expect(configured.payload).toEqual([
      expect.objectContaining({ minRepIntval: 10, maxRepIntval: 600, repChange: 50 }),
    ]);
  });
});

describe('Zigbee re-interview', () => {
  it('identifies a device whose interview failed when it is interviewed again', async () => {
    await startAdapter();
    const outlet = ikeaOutlet();
    air.unreachable.add(outlet);
    air.coordinator.join(outlet);
    await eventually(
      () =>
        ctx.logLines.some(
          (l) => l.msg === 'The Zigbee device interview failed; it will be retried when it rejoins.',
        ),
      'the first interview to fail',
    );
    expect(ctx.devices.get(idOf(outlet))?.model).toBeUndefined();

    air.unreachable.delete(outlet);
    const info = await adapter!.interview!(idOf(outlet));
    expect(info).toMatchObject({ manufacturer: 'IKEA', model: 'E160x/E170x/E190x' });
    expect(ctx.devices.get(idOf(outlet))?.model).toBe('E160x/E170x/E190x');
    expect((await run(outlet, 'on')).status).toBe('ok');
  });

  it('says so when the device does not answer', async () => {
    await startAdapter();
    const outlet = ikeaOutlet();
    await pair(outlet);
    air.unreachable.add(outlet);
    await expect(adapter!.interview!(idOf(outlet))).rejects.toMatchObject({ code: 'FG_INTERVIEW_FAILED' });
  });
});

describe('Zigbee coordinator unplugged without a disconnect event (deCONZ)', () => {
  it('goes degraded when its serial device disappears and recovers when it is back', async () => {
    portDir = await mkdtemp(path.join(os.tmpdir(), 'fg-conbee-'));
    const port = path.join(portDir, 'ttyACM0');
    await writeFile(port, '');
    await startAdapter({ coordinator: 'deconz', serialPort: port });
    await eventually(() => ctx.state === 'running', 'the adapter to run');

    air.isCoordinatorPresent = false;
    await rm(port);
    await eventually(() => ctx.state === 'degraded', 'the adapter to report degraded');
    expect(ctx.statuses.at(-1)?.detail).toContain('disconnected');

    air.isCoordinatorPresent = true;
    await writeFile(port, '');
    await eventually(() => ctx.state === 'running', 'the adapter to recover');
    // The deCONZ driver reconnected by itself; its controller was followed, not replaced.
    expect(air.coordinators).toHaveLength(1);
  });
});
