import { describe, expect, it } from 'vitest';
import { commandCapabilities, planCommand } from '../../../../adapters/ble/commands.js';
import type { GattCommandOptions } from '../../../../adapters/ble/options.js';
import type { DeviceCommand } from '../../../../src/model.js';

const target = { service: 'ffe0', characteristic: 'ffe1', withResponse: true };
const COMMANDS: GattCommandOptions[] = [
  { ...target, name: 'identify', payload: [{ hex: 'a5' }] },
  {
    ...target,
    name: 'setLevel',
    payload: [{ hex: '01' }, { arg: 'level', format: 'uint8', scale: 1, max: 100 }],
  },
  {
    ...target,
    name: 'setTarget',
    payload: [{ hex: '02' }, { arg: 'celsius', format: 'int16le', scale: 0.5 }],
  },
  {
    ...target,
    name: 'setMode',
    payload: [{ arg: 'mode', format: 'uint8', scale: 1, enum: { off: 0, eco: 2 } }],
  },
  { ...target, name: 'power', withResponse: false, payload: [{ arg: 'on', format: 'bool', scale: 1 }] },
];

const cmd = (name: string, args: Record<string, unknown> = {}): DeviceCommand => ({
  id: 'c1',
  device: 'ble:aa:bb:cc:dd:ee:ff',
  name,
  args,
  origin: 'local',
});

describe('planCommand', () => {
  it.each([
    ['a constant payload', cmd('identify'), 'a5'],
    ['a ranged uint8', cmd('setLevel', { level: 42 }), '012a'],
    ['a scaled signed value, rounded', cmd('setTarget', { celsius: -20.5 }), '02d7ff'],
    ['an enum word', cmd('setMode', { mode: 'eco' }), '02'],
    ['a boolean', cmd('power', { on: true }), '01'],
  ])('encodes %s', (_what, command, hex) => {
    const result = planCommand(COMMANDS, command);
    expect(result.ok && result.plan.data.toString('hex')).toBe(hex);
  });

  it('carries the target characteristic and write mode', () => {
    expect(planCommand(COMMANDS, cmd('power', { on: false }))).toEqual({
      ok: true,
      plan: { service: 'ffe0', characteristic: 'ffe1', data: Buffer.from([0]), withResponse: false },
    });
  });

  it.each([
    [cmd('reboot'), 'unsupported', "the device has no command 'reboot'"],
    [cmd('setLevel'), 'rejected', "missing argument 'level'"],
    [cmd('setLevel', { level: 101 }), 'rejected', "'level' must be between 0 and 100"],
    [cmd('setLevel', { level: '5' }), 'rejected', "'level' must be a number"],
    [cmd('setLevel', { level: Number.NaN }), 'rejected', "'level' must be a number"],
    [cmd('setTarget', { celsius: 20000 }), 'rejected', "'celsius' must be between -16384 and 16383.5"],
    [cmd('setMode', { mode: 'turbo' }), 'rejected', "'mode' must be one of off, eco"],
    [cmd('power', { on: 1 }), 'rejected', "'on' must be a boolean"],
    [cmd('identify', { force: true }), 'rejected', 'unknown argument(s): force'],
  ])('refuses %j', (command, status, detail) => {
    expect(planCommand(COMMANDS, command)).toEqual({ ok: false, status, detail });
  });
});

describe('commandCapabilities', () => {
  it('describes every command and its arguments for the command router', () => {
    expect(commandCapabilities(COMMANDS)).toEqual([
      { name: 'identify' },
      { name: 'setLevel', args: { level: { type: 'number', min: 0, max: 100 } } },
      { name: 'setTarget', args: { celsius: { type: 'number', min: -16384, max: 16383.5 } } },
      { name: 'setMode', args: { mode: { type: 'string', enum: ['off', 'eco'] } } },
      { name: 'power', args: { on: { type: 'boolean' } } },
    ]);
  });
});
