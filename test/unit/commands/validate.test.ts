import { describe, expect, it } from 'vitest';
import { validateCommand } from '../../../src/commands/validate.js';
import type { DeviceCommand, DeviceInfo } from '../../../src/model.js';

const dimmer: DeviceInfo = {
  id: 'sim:dimmer-01',
  adapter: 'sim',
  capabilities: {
    values: ['level'],
    commands: [
      { name: 'toggle' },
      {
        name: 'set',
        args: {
          level: { type: 'number', min: 0, max: 100 },
          mode: { type: 'string', enum: ['fade', 'jump'] },
          label: { type: 'string' },
          silent: { type: 'boolean' },
        },
      },
    ],
  },
  availability: 'online',
  lastSeen: 0,
  power: 'mains',
};

const limits = { maxArgsBytes: 64 };

function command(name: string, args: Record<string, unknown>): DeviceCommand {
  return { id: 'c1', device: dimmer.id, name, args, origin: 'local' };
}

describe('validateCommand', () => {
  it.each([
    ['no args', 'toggle', {}],
    ['all args in range', 'set', { level: 100, mode: 'fade', label: 'x', silent: false }],
    ['a subset of args (none is required)', 'set', { level: 0 }],
  ])('accepts %s', (_case, name, args) => {
    expect(validateCommand(command(name, args), dimmer, limits)).toBeUndefined();
  });

  it.each([
    [
      'an unknown command',
      'reboot',
      {},
      'unknown command reboot for sim:dimmer-01; it supports: toggle, set',
    ],
    [
      'an unknown argument',
      'set',
      { speed: 1 },
      'unknown argument speed for set; expected: level, mode, label, silent',
    ],
    [
      'an argument to a command without any',
      'toggle',
      { on: true },
      'unknown argument on for toggle; it takes no arguments',
    ],
    [
      'a string for a number',
      'set',
      { level: '50' },
      'argument level of set must be a number, got the string "50"',
    ],
    ['a number below min', 'set', { level: -1 }, 'argument level of set must be at least 0, got -1'],
    ['a number above max', 'set', { level: 101 }, 'argument level of set must be at most 100, got 101'],
    [
      'a value outside the enum',
      'set',
      { mode: 'blink' },
      'argument mode of set must be one of fade, jump, got "blink"',
    ],
    [
      'a number for a boolean',
      'set',
      { silent: 1 },
      'argument silent of set must be a boolean, got number 1',
    ],
    ['null for a string', 'set', { label: null }, 'argument label of set must be a string, got null'],
    [
      'an object for a string',
      'set',
      { label: {} },
      'argument label of set must be a string, got a value of type object',
    ],
  ])('rejects %s with a precise detail', (_case, name, args, detail) => {
    expect(validateCommand(command(name, args), dimmer, limits)).toBe(detail);
  });

  it('rejects args larger than maxArgsBytes, counting UTF-8 bytes', () => {
    // 30 two-byte characters: 60 bytes of text, 72 with the JSON object around them.
    const cmd = command('set', { label: 'é'.repeat(30) });
    expect(validateCommand(cmd, dimmer, limits)).toBe('args of set are 72 bytes; the limit is 64');
    expect(validateCommand(cmd, dimmer, { maxArgsBytes: 72 })).toBeUndefined();
  });

  it('rejects args that are not an object', () => {
    const cmd = { ...command('set', {}), args: [1, 2] as unknown as Record<string, unknown> };
    expect(validateCommand(cmd, dimmer, limits)).toBe('args of set must be a JSON object');
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'rejects an argument named %s instead of taking Object.prototype for its description',
    (name) => {
      // JSON.parse makes "__proto__" an own key, as a command arriving from the cloud has it.
      const args = JSON.parse(`{"${name}": {"polluted": true}}`) as Record<string, unknown>;
      expect(validateCommand(command('toggle', args), dimmer, limits)).toBe(
        `unknown argument ${name} for toggle; it takes no arguments`,
      );
      expect(validateCommand(command('set', args), dimmer, limits)).toMatch(
        `unknown argument ${name} for set`,
      );
    },
  );

  it('rejects args nested too deeply to measure rather than throwing', () => {
    const levels = 20_000;
    const args = JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`) as Record<string, unknown>;
    expect(validateCommand(command('set', args), dimmer, { maxArgsBytes: 4096 })).toBe(
      'args of set are nested too deeply',
    );
  });

  it('says so when the device supports no commands at all', () => {
    const sensor = { ...dimmer, capabilities: { values: ['temperature'], commands: [] } };
    expect(validateCommand(command('toggle', {}), sensor, limits)).toBe(
      'unknown command toggle for sim:dimmer-01; it supports: no commands',
    );
  });
});
