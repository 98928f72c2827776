import { describe, expect, it } from 'vitest';
import { commandsFor, planCommand, type NodeFacts } from '../../../../adapters/zwave/command-mapping.js';
import { validateCommand } from '../../../../src/commands/validate.js';
import type { DeviceCommand, DeviceInfo } from '../../../../src/model.js';

const facts = (commandClasses: number[], extra: Partial<NodeFacts> = {}): NodeFacts => ({
  commandClasses: new Set(commandClasses),
  setpointTypes: [],
  thermostatModes: [],
  ...extra,
});

const BINARY_SWITCH = 0x25;
const DIMMER = 0x26;
const SETPOINT = 0x43;
const MODE = 0x40;
const DOOR_LOCK = 0x62;
const LOCK = 0x76;

/** A double relay: a bare root and two Binary Switch endpoints, the second one on. */
const DOUBLE_RELAY = facts([], {
  endpoints: new Map([
    [1, { commandClasses: new Set([BINARY_SWITCH]), isOn: false }],
    [2, { commandClasses: new Set([BINARY_SWITCH]), isOn: true }],
  ]),
});

describe('planCommand', () => {
  it.each([
    // Multilevel Switch CC: 0–99 with 99 full; 0xff would be "last non-zero level", not full.
    [{ level: 100 }, { value: 99 }],
    [{ level: 0 }, { value: 0 }],
    [{ level: 99 }, { value: 99 }],
    [
      { level: 30, duration: 5 },
      { value: 30, durationS: 5 },
    ],
  ])('setLevel %j on a dimmer writes %j', (args, write) => {
    expect(planCommand('setLevel', args, facts([DIMMER]))).toEqual({
      ok: true,
      write: expect.objectContaining({ commandClass: DIMMER, endpoint: 0, ...write }) as unknown,
    });
  });

  it.each([
    [{ endpoint: 2 }, 'on', { endpoint: 2, value: true }],
    [{ endpoint: 1 }, 'off', { endpoint: 1, value: false }],
    [{ endpoint: 2 }, 'toggle', { endpoint: 2, value: false }],
    [{}, 'on', { endpoint: 1, value: true }],
  ])('a double relay takes %j %s per endpoint', (args, name, write) => {
    expect(planCommand(name, args, DOUBLE_RELAY)).toEqual({
      ok: true,
      write: expect.objectContaining({ commandClass: BINARY_SWITCH, ...write }) as unknown,
    });
  });

  it.each([
    ['on', {}, facts([BINARY_SWITCH]), { commandClass: BINARY_SWITCH, property: 'targetValue', value: true }],
    [
      'off',
      {},
      facts([BINARY_SWITCH]),
      { commandClass: BINARY_SWITCH, property: 'targetValue', value: false },
    ],
    ['on', {}, facts([DIMMER]), { commandClass: DIMMER, property: 'targetValue', value: 0xff }],
    ['toggle', {}, facts([BINARY_SWITCH], { isOn: true }), { commandClass: BINARY_SWITCH, value: false }],
    [
      'setLevel',
      { level: 40 },
      facts([DIMMER]),
      { commandClass: DIMMER, property: 'targetValue', value: 40 },
    ],
    [
      'setSetpoint',
      { setpoint: 21.5, type: 'cooling' },
      facts([SETPOINT], { setpointTypes: [1, 2] }),
      { commandClass: SETPOINT, property: 'setpoint', propertyKey: 2, value: 21.5 },
    ],
    [
      'setMode',
      { mode: 'heat' },
      facts([MODE], { thermostatModes: [0, 1] }),
      { commandClass: MODE, value: 1 },
    ],
    ['lock', {}, facts([DOOR_LOCK]), { commandClass: DOOR_LOCK, property: 'targetMode', value: 0xff }],
    ['unlock', {}, facts([LOCK]), { commandClass: LOCK, property: 'locked', value: false }],
    [
      'setValue',
      { commandClass: BINARY_SWITCH, property: 'targetValue', value: true },
      facts([BINARY_SWITCH]),
      { commandClass: BINARY_SWITCH, endpoint: 0, property: 'targetValue', value: true },
    ],
  ])('%s %j becomes a write', (name, args, nodeFacts, write) => {
    expect(planCommand(name, args, nodeFacts)).toEqual({
      ok: true,
      write: expect.objectContaining(write) as unknown,
    });
  });

  it.each([
    ['on', {}, facts([DIMMER + 1]), 'unsupported'],
    ['setLevel', { level: 10 }, facts([BINARY_SWITCH]), 'unsupported'],
    ['fly', {}, facts([BINARY_SWITCH]), 'unsupported'],
    ['toString', {}, facts([BINARY_SWITCH]), 'unsupported'],
    [
      'setValue',
      { commandClass: DOOR_LOCK, property: 'targetMode', value: 0 },
      facts([BINARY_SWITCH]),
      'unsupported',
    ],
    ['setLevel', { level: 101 }, facts([DIMMER]), 'rejected'],
    ['setLevel', { level: 50, duration: -1 }, facts([DIMMER]), 'rejected'],
    ['on', { endpoint: 3 }, DOUBLE_RELAY, 'rejected'],
    ['setLevel', { level: 50, endpoint: 1 }, DOUBLE_RELAY, 'unsupported'],
    ['setLevel', { level: '5' }, facts([DIMMER]), 'rejected'],
    ['toggle', {}, facts([BINARY_SWITCH]), 'rejected'],
    ['setSetpoint', { setpoint: 20, type: 'cooling' }, facts([SETPOINT], { setpointTypes: [1] }), 'rejected'],
    ['setSetpoint', { setpoint: 'warm' }, facts([SETPOINT], { setpointTypes: [1] }), 'rejected'],
    ['setMode', { mode: 'cool' }, facts([MODE], { thermostatModes: [0, 1] }), 'rejected'],
    [
      'setValue',
      { commandClass: BINARY_SWITCH, property: 'targetValue' },
      facts([BINARY_SWITCH]),
      'rejected',
    ],
    ['setValue', { commandClass: 'x', property: 'p', value: 1 }, facts([BINARY_SWITCH]), 'rejected'],
  ])('%s %j is %s', (name, args, nodeFacts, status) => {
    expect(planCommand(name, args, nodeFacts)).toMatchObject({ ok: false, status });
  });
});

describe('commandsFor', () => {
  it('lists what a switch with a thermostat can do, with argument descriptions', () => {
    const commands = commandsFor(facts([BINARY_SWITCH, SETPOINT]));
    expect(commands.map((c) => c.name)).toEqual(['on', 'off', 'toggle', 'setSetpoint', 'setValue']);
    expect(commands.find((c) => c.name === 'setSetpoint')?.args?.setpoint).toEqual({ type: 'number' });
  });

  it('describes the endpoints of a double relay and the duration of a switch', () => {
    const on = commandsFor(DOUBLE_RELAY).find((c) => c.name === 'on');
    expect(on?.args).toEqual({
      endpoint: { type: 'number', min: 0, max: 2 },
      duration: { type: 'number', min: 0, max: 7620 },
    });
    expect(commandsFor(facts([DIMMER])).find((c) => c.name === 'setLevel')?.args?.level).toEqual({
      type: 'number',
      min: 0,
      max: 100,
    });
  });

  it('offers only the generic write to a sensor', () => {
    expect(commandsFor(facts([0x31])).map((c) => c.name)).toEqual(['setValue']);
  });

  it('describes setValue so the router lets its value through, of whatever type the device takes', () => {
    const info: DeviceInfo = {
      id: 'zwave:5',
      adapter: 'zwave',
      capabilities: { values: [], commands: commandsFor(facts([0x70])) },
      availability: 'online',
      lastSeen: 0,
      power: 'mains',
    };
    for (const value of [1, true, 'auto', [1, 2]]) {
      const cmd: DeviceCommand = {
        id: 'c1',
        device: 'zwave:5',
        name: 'setValue',
        args: { commandClass: 0x70, property: '3', value },
        origin: 'local',
      };
      expect(validateCommand(cmd, info, { maxArgsBytes: 4096 })).toBeUndefined();
    }
  });
});
