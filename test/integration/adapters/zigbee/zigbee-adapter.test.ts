import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import zigbeeDefinition from '../../../../adapters/zigbee/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import type { DeviceCommand, DeviceInfo } from '../../../../src/model.js';
import { installFakeAir, type FakeAir } from '../../../fakes/zigbee/fake-coordinator.js';
import { eventually, RecordingContext } from '../../../fakes/zigbee/recording-context.js';
import type { VirtualDevice } from '../../../fakes/zigbee/virtual-device.js';
import {
  danfossTrv,
  ikeaOutlet,
  SNZB02_TEMPERATURE_REPORT,
  sonoffSnzb02,
  TRUNCATED_TEMPERATURE_REPORT,
  unknownSensor,
} from '../../../fixtures/zigbee/devices.js';

// Real zigbee-herdsman Controller and zigbee-herdsman-converters; only the coordinator below herdsman's
// Adapter seam is fake (test/fakes/zigbee).

const AWAKE_WINDOW_MS = 5000;

let seam: ReturnType<typeof installFakeAir>;
let air: FakeAir;
let ctx: RecordingContext;
let adapter: Adapter;

beforeEach(async () => {
  seam = installFakeAir();
  air = seam.air;
  ctx = await RecordingContext.create();
  const options = {
    coordinator: 'ember',
    serialPort: '/dev/ttyFAKE',
    awakeWindowMs: AWAKE_WINDOW_MS,
    reopen: { initialMs: 20, maxMs: 100 },
  };
  adapter = zigbeeDefinition.create(options);
  await adapter.start(ctx);
});

afterEach(async () => {
  await adapter.stop();
  seam.restore();
  await ctx.dispose();
});

const idOf = (device: VirtualDevice): string => `zigbee:${device.ieeeAddr}`;

/** Joins a device and waits until it is interviewed, identified and configured. */
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

describe('zigbee adapter on the real herdsman and converters', () => {
  it('identifies a SONOFF SNZB-02 by its real definition and turns its raw report into °C', async () => {
    const sensor = sonoffSnzb02();
    const info = await pair(sensor);

    expect(info).toMatchObject({
      manufacturer: 'SONOFF',
      model: 'SNZB-02',
      power: 'battery',
      adapter: 'zigbee',
    });
    expect(info.capabilities.values).toEqual(expect.arrayContaining(['temperature', 'humidity', 'battery']));
    // The definition's configure bound the clusters and set up reporting on the device.
    await eventually(
      () =>
        sensor.received.some((f) => f.cluster === 'msTemperatureMeasurement' && f.command === 'configReport'),
      'reporting to be configured',
    );

    sensor.sendFrame(1, 0x0402, SNZB02_TEMPERATURE_REPORT);
    const reading = await eventually(
      () => ctx.readings.find((r) => r.device === idOf(sensor) && r.values.temperature !== undefined),
      'a temperature reading',
    );
    expect(reading.values.temperature).toBe(21.5);
    expect(reading.units?.temperature).toBe('°C');
    expect(reading.values.linkQuality).toBe(180);
  });

  it('switches an IKEA outlet with the exact ZCL frame the converters produce and reads back its state', async () => {
    const outlet = ikeaOutlet();
    const info = await pair(outlet);
    expect(info).toMatchObject({ manufacturer: 'IKEA', power: 'mains', availability: 'online' });
    expect(info.capabilities.commands.map((c) => c.name)).toEqual(
      expect.arrayContaining(['on', 'off', 'toggle', 'set']),
    );
    expect(adapter.isReachable(idOf(outlet))).toBe(true);

    const sentBefore = air.coordinator.sent.length;
    const readingsBefore = ctx.readings.length;
    const result = await adapter.execute(command(outlet, 'on'), new AbortController().signal);

    expect(result.status).toBe('ok');
    const frame = air.coordinator.sent.slice(sentBefore).find((s) => s.cluster === 'genOnOff');
    // 0x01: cluster-specific, client to server, default response requested; then the TSN; 0x01 = On.
    expect(frame?.hex).toMatch(/^01[0-9a-f]{2}01$/);
    expect(outlet.received.at(-1)).toMatchObject({ cluster: 'genOnOff', command: 'on' });
    const state = await eventually(
      () =>
        ctx.readings
          .slice(readingsBefore)
          .find((r) => r.device === idOf(outlet) && r.values.state !== undefined),
      'the state report',
    );
    expect(state.values.state).toBe('ON');
  });

  it('validates commands against the definition before anything is sent', async () => {
    const outlet = ikeaOutlet();
    await pair(outlet);
    const sentBefore = air.coordinator.sent.length;
    const signal = new AbortController().signal;

    expect((await adapter.execute(command(outlet, 'set', { brightness: 50 }), signal)).status).toBe(
      'unsupported',
    );
    expect((await adapter.execute(command(outlet, 'dance'), signal)).status).toBe('unsupported');
    expect(
      (await adapter.execute(command(outlet, 'set', { powerOnBehavior: 'sideways' }), signal)).status,
    ).toBe('rejected');
    expect(air.coordinator.sent.length).toBe(sentBefore);
  });

  it('holds a command for a sleepy thermostat until it checks in, and drops it once its TTL passed', async () => {
    const trv = danfossTrv();
    const info = await pair(trv);
    expect(info).toMatchObject({ manufacturer: 'Danfoss', power: 'battery' });
    const setpoint = info.capabilities.commands.find((c) => c.name === 'set')?.args?.occupiedHeatingSetpoint;
    expect(setpoint).toMatchObject({ type: 'number', min: 5, max: 35 });

    ctx.clockMs += AWAKE_WINDOW_MS + 1; // it went back to sleep after joining
    expect(adapter.isReachable(idOf(trv))).toBe(false);
    const framesToThermostat = (): number =>
      trv.received.filter((f) => f.cluster === 'hvacThermostat').length;
    const framesBefore = framesToThermostat();

    const pending = adapter.execute(
      command(trv, 'set', { occupiedHeatingSetpoint: 21 }),
      new AbortController().signal,
    );
    await new Promise((r) => setImmediate(r));
    expect(framesToThermostat()).toBe(framesBefore);

    trv.checkIn(1);
    await eventually(() => ctx.awakened.includes(idOf(trv)), 'the router to be told the device is awake');
    expect(await pending).toMatchObject({ status: 'ok' });
    // Danfoss sets the setpoint with a manufacturer-specific command: frame control 0x05, manufacturer
    // 0x1246, TSN, command 0x40, setpoint type 0x01, setpoint 0x0834 = 21.00 °C.
    expect(trv.received.at(-1)).toMatchObject({ cluster: 'hvacThermostat', command: '0x40' });
    expect(trv.received.at(-1)!.payload).toMatch(/^054612[0-9a-f]{2}40013408$/);
    const framesAfterCommand = framesToThermostat();
    expect(framesAfterCommand).toBeGreaterThan(framesBefore);

    // A command whose TTL runs out while the device sleeps is never sent, not even at the next check-in.
    ctx.clockMs += AWAKE_WINDOW_MS + 1;
    const ttl = new AbortController();
    const late = adapter.execute(
      { ...command(trv, 'set', { occupiedHeatingSetpoint: 25 }), expiresAt: ctx.clockMs + 1000 },
      ttl.signal,
    );
    ttl.abort();
    expect((await late).status).toBe('expired');
    trv.checkIn(1);
    await eventually(() => ctx.awakened.filter((id) => id === idOf(trv)).length >= 2, 'the second check-in');
    expect(framesToThermostat()).toBe(framesAfterCommand);
  });

  it('reads a device no definition knows, and drops a malformed frame without disturbing the adapter', async () => {
    const sensor = unknownSensor();
    await pair(sensor);

    sensor.sendFrame(1, 0x0402, TRUNCATED_TEMPERATURE_REPORT);
    await eventually(
      () =>
        ctx.logLines.some(
          (l) => l.msg === 'Dropped a frame that could not be parsed.' && l.device === idOf(sensor),
        ),
      'the malformed frame to be logged',
    );
    const readingsBefore = ctx.readings.length;
    sensor.report(1, 'msTemperatureMeasurement', { measuredValue: 1875 });
    const reading = await eventually(
      () =>
        ctx.readings
          .slice(readingsBefore)
          .find((r) => r.device === idOf(sensor) && r.values.temperature !== undefined),
      'a temperature reading from the unknown device',
    );
    expect(reading.values.temperature).toBe(18.75);
    expect(reading.units?.temperature).toBe('°C');
    expect(ctx.state).toBe('running');
  });

  it('goes degraded when the coordinator goes away and recovers when it is back', async () => {
    const outlet = ikeaOutlet();
    await pair(outlet);

    air.isCoordinatorPresent = false;
    air.coordinator.unplug();
    await eventually(() => ctx.state === 'degraded', 'the adapter to report degraded');
    expect(adapter.isReachable(idOf(outlet))).toBe(false);
    const whileGone = await adapter.execute(command(outlet, 'on'), new AbortController().signal);
    expect(whileGone.status).toBe('failed');
    // Reopen attempts keep failing while it is unplugged; none of them ends the adapter.
    await eventually(() => air.coordinators.length >= 3, 'several reopen attempts');

    air.isCoordinatorPresent = true;
    await eventually(() => ctx.state === 'running', 'the adapter to recover');
    outlet.report(1, 'genOnOff', { onOff: 1 });
    await eventually(
      () => ctx.readings.some((r) => r.device === idOf(outlet) && r.values.state === 'ON'),
      'a reading after recovery',
    );
    expect((await adapter.execute(command(outlet, 'off'), new AbortController().signal)).status).toBe('ok');
  });
});
