import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ThermostatMode,
  ThermostatModeCCSet,
  ThermostatSetpointCCSet,
  ThermostatSetpointType,
  type CommandClass,
} from '@zwave-js/cc';
import { CommandClasses } from '@zwave-js/core';
import { ccCaps, type MockNodeBehavior } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import type { DeviceCommand } from '../../../../src/model.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// A thermostat (Thermostat Mode, Thermostat Setpoint, Multilevel Sensor temperature, Supervision) as a
// mock node under the real zwave-js Driver: its readings as the gateway names them, and `setSetpoint` /
// `setMode` as the frames the device receives and the result only the device's answer decides.

const HOME = 0x7e57000c;
const THERMOSTAT = 'zwave:7e57000c-2';
/** The heating setpoint range the device declares (Thermostat Setpoint Capabilities Report), °C. */
const HEATING = { minValue: 5, maxValue: 30 };

/** zwave-js's mock Thermostat Setpoint behaviour keeps each setpoint in the node's state under this key. */
const setpointState = (type: number) => `ThermostatSetpoint_setpoint_${type}`;

let seq = 0;
function command(name: string, args: Record<string, unknown>): DeviceCommand {
  seq += 1;
  const expiresAt = Date.now() + 60_000;
  return { id: `thermo-${seq}`, device: THERMOSTAT, name, args, origin: 'local', expiresAt };
}

describe('a Z-Wave thermostat against a mock stick', () => {
  let stick: MockStick;
  let adapter: Adapter;
  let ctx: RecordingContext;
  const signal = new AbortController().signal;
  /** Thermostat Setpoint / Mode Set commands the node received, with whether they came supervised. */
  const sets: { cc: CommandClass; supervised: boolean }[] = [];

  /**
   * Records the Set commands; takes a setpoint inside the declared range (Supervision: success) and
   * refuses one outside it (Supervision: fail), as the Thermostat Setpoint CC asks of a device.
   */
  const thermostat: MockNodeBehavior = {
    handleCC: (_controller, self, cc) => {
      if (!(cc instanceof ThermostatSetpointCCSet) && !(cc instanceof ThermostatModeCCSet)) return undefined;
      sets.push({ cc, supervised: cc.getEncapsulatingCC(CommandClasses.Supervision) !== undefined });
      if (cc instanceof ThermostatModeCCSet) return undefined; // zwave-js's own behaviour stores the mode
      if (cc.value < HEATING.minValue || cc.value > HEATING.maxValue) return { action: 'fail' };
      self.state.set(setpointState(cc.setpointType), cc.value);
      return { action: 'ok' };
    },
  };

  const latest = (name: string) =>
    ctx
      .readingsOf(THERMOSTAT)
      .map((r) => r.values[name])
      .filter((v) => v !== undefined)
      .at(-1);

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: HOME });
    const node = await stick.addNode(
      {
        id: 2,
        capabilities: {
          commandClasses: [
            CommandClasses.Version,
            CommandClasses['Manufacturer Specific'],
            { ccId: CommandClasses.Supervision, isSupported: true, version: 1 },
            ccCaps({
              ccId: CommandClasses['Thermostat Mode'],
              isSupported: true,
              version: 3,
              supportedModes: [ThermostatMode.Off, ThermostatMode.Heat, ThermostatMode.Cool],
            }),
            ccCaps({
              ccId: CommandClasses['Thermostat Setpoint'],
              isSupported: true,
              version: 3,
              setpoints: {
                [ThermostatSetpointType.Heating]: { ...HEATING, defaultValue: 20, scale: '°C' },
              },
            }),
            ccCaps({
              ccId: CommandClasses['Multilevel Sensor'],
              isSupported: true,
              version: 11,
              sensors: { 1: { supportedScales: [0] } },
              getValue: () => 19.5,
            }),
          ],
        },
      },
      [thermostat],
    );
    // The thermostat is heating when the gateway first asks (zwave-js's mock keeps the mode in its state).
    node.state.set('ThermostatMode_mode', ThermostatMode.Heat);
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(zwaveOptions(stick.url));
    await adapter.start(ctx);
    await until(
      () =>
        latest('temperature') !== undefined &&
        latest('heatingSetpoint') !== undefined &&
        latest('thermostatMode') !== undefined,
      'the thermostat interview',
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    await adapter?.stop();
    await stick?.close();
  });

  it('reports temperature, heating setpoint and mode under the gateway names', () => {
    expect(latest('temperature')).toBe(19.5);
    expect(latest('heatingSetpoint')).toBe(20);
    expect(latest('thermostatMode')).toBe('heat');
    const units = Object.assign({}, ...ctx.readingsOf(THERMOSTAT).map((r) => r.units ?? {})) as Record<
      string,
      string
    >;
    expect(units).toMatchObject({ temperature: '°C', heatingSetpoint: '°C' });
    const commands = ctx.devices.get(THERMOSTAT)?.capabilities.commands.map((c) => c.name);
    expect(commands).toEqual(expect.arrayContaining(['setSetpoint', 'setMode']));
  });

  it('`setSetpoint` sends a supervised Thermostat Setpoint Set and is ok once the device confirmed it', async () => {
    sets.length = 0;

    const result = await adapter.execute(command('setSetpoint', { setpoint: 22.5, type: 'heating' }), signal);

    expect(result).toMatchObject({ status: 'ok', detail: 'confirmed by the device (supervised)' });
    const setpointSets = sets.filter((s) => s.cc instanceof ThermostatSetpointCCSet);
    expect(setpointSets).toHaveLength(1);
    const set = setpointSets[0]!;
    expect(set.supervised).toBe(true);
    expect(set.cc).toMatchObject({ setpointType: ThermostatSetpointType.Heating, value: 22.5, scale: 0 });
    await until(() => latest('heatingSetpoint') === 22.5, 'the new setpoint as a reading');
  });

  it('`setSetpoint` the device refuses (outside its range) ends failed, and the reading stays', async () => {
    sets.length = 0;

    const result = await adapter.execute(command('setSetpoint', { setpoint: 35, type: 'heating' }), signal);

    expect(result.status).toBe('failed');
    expect(result.detail).toMatch(/could not execute/);
    expect(sets.filter((s) => s.cc instanceof ThermostatSetpointCCSet)).toHaveLength(1);
    expect(latest('heatingSetpoint')).toBe(22.5);
  });

  it('`setMode cool` sends a supervised Thermostat Mode Set; a mode the device lacks is refused unsent', async () => {
    sets.length = 0;

    const result = await adapter.execute(command('setMode', { mode: 'cool' }), signal);

    expect(result).toMatchObject({ status: 'ok', detail: 'confirmed by the device (supervised)' });
    expect(sets).toHaveLength(1);
    expect(sets[0]!.supervised).toBe(true);
    expect(sets[0]!.cc).toMatchObject({ mode: ThermostatMode.Cool });
    await until(() => latest('thermostatMode') === 'cool', 'the new mode as a reading');

    const refused = await adapter.execute(command('setMode', { mode: 'auto' }), signal);
    expect(refused.status).toBe('rejected');
    expect(refused.detail).toMatch(/not supported by this device/);
    expect(sets).toHaveLength(1);
  });
});
