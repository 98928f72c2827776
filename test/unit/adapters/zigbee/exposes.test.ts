import { describe, expect, it } from 'vitest';
import {
  capabilitiesOf,
  flattenExposes,
  planCommand,
  type ExposeLike,
} from '../../../../adapters/zigbee/exposes.js';

// Shapes as zigbee-herdsman-converters builds them (access: 1 state, 2 set, 4 get).
const light: ExposeLike = {
  type: 'light',
  features: [
    {
      type: 'binary',
      name: 'state',
      property: 'state',
      access: 7,
      value_on: 'ON',
      value_off: 'OFF',
      value_toggle: 'TOGGLE',
    },
    { type: 'numeric', name: 'brightness', property: 'brightness', access: 7, value_min: 0, value_max: 254 },
    {
      type: 'numeric',
      name: 'color_temp',
      property: 'color_temp',
      access: 7,
      value_min: 250,
      value_max: 454,
      unit: 'mired',
    },
  ],
};
const lock: ExposeLike = {
  type: 'lock',
  features: [
    { type: 'binary', name: 'state', property: 'state', access: 7, value_on: 'LOCK', value_off: 'UNLOCK' },
  ],
};
const cover: ExposeLike = {
  type: 'cover',
  features: [
    { type: 'enum', name: 'state', property: 'state', access: 3, values: ['OPEN', 'CLOSE', 'STOP'] },
    {
      type: 'numeric',
      name: 'position',
      property: 'position',
      access: 7,
      value_min: 0,
      value_max: 100,
      unit: '%',
    },
  ],
};
const twoGang: ExposeLike[] = [
  {
    type: 'switch',
    endpoint: 'l1',
    features: [
      {
        type: 'binary',
        name: 'state',
        property: 'state_l1',
        endpoint: 'l1',
        access: 7,
        value_on: 'ON',
        value_off: 'OFF',
      },
    ],
  },
  {
    type: 'switch',
    endpoint: 'l2',
    features: [
      {
        type: 'binary',
        name: 'state',
        property: 'state_l2',
        endpoint: 'l2',
        access: 7,
        value_on: 'ON',
        value_off: 'OFF',
      },
    ],
  },
];
const sensor: ExposeLike[] = [
  { type: 'numeric', name: 'temperature', property: 'temperature', access: 1, unit: '°C' },
  { type: 'numeric', name: 'battery', property: 'battery', access: 5, unit: '%' },
];

describe('capabilitiesOf', () => {
  it.each([
    ['light', [light], ['on', 'off', 'toggle', 'set'], ['state', 'brightness', 'colorTemp', 'linkQuality']],
    ['lock', [lock], ['lock', 'unlock', 'set'], ['state', 'linkQuality']],
    ['cover', [cover], ['open', 'close', 'stop', 'set'], ['state', 'position', 'linkQuality']],
    ['two-gang switch', twoGang, ['set'], ['stateL1', 'stateL2', 'linkQuality']],
    ['read-only sensor', sensor, [], ['temperature', 'battery', 'linkQuality']],
  ])('%s', (_name, exposes, commands, values) => {
    const capabilities = capabilitiesOf(flattenExposes(exposes));
    expect(capabilities.commands.map((c) => c.name)).toEqual(commands);
    expect(capabilities.values).toEqual(values);
  });

  it('describes set arguments with their ranges and choices for the router', () => {
    const set = capabilitiesOf(flattenExposes([light])).commands.find((c) => c.name === 'set');
    expect(set?.args).toEqual({
      state: { type: 'string', enum: ['ON', 'OFF', 'TOGGLE'] },
      brightness: { type: 'number', min: 0, max: 254 },
      colorTemp: { type: 'number', min: 250, max: 454 },
    });
  });
});

describe('planCommand', () => {
  const plan = (exposes: ExposeLike[], name: string, args: Record<string, unknown> = {}) =>
    planCommand({ name, args }, flattenExposes(exposes));

  it.each([
    ['on', [light], 'on', {}, [{ key: 'state', value: 'ON' }]],
    ['toggle', [light], 'toggle', {}, [{ key: 'state', value: 'TOGGLE' }]],
    ['lock', [lock], 'lock', {}, [{ key: 'state', value: 'LOCK' }]],
    ['cover stop', [cover], 'stop', {}, [{ key: 'state', value: 'STOP' }]],
    [
      'brightness and colour temperature',
      [light],
      'set',
      { brightness: 128, colorTemp: 300 },
      [
        { key: 'brightness', value: 128 },
        { key: 'color_temp', value: 300 },
      ],
    ],
    ['boolean for an ON/OFF state', [light], 'set', { state: false }, [{ key: 'state', value: 'OFF' }]],
    ['case-insensitive enum', [cover], 'set', { state: 'open' }, [{ key: 'state', value: 'OPEN' }]],
    ['cover position', [cover], 'set', { position: 40 }, [{ key: 'position', value: 40 }]],
    [
      'one gang of two',
      twoGang,
      'set',
      { stateL2: 'ON' },
      [{ key: 'state', endpointName: 'l2', value: 'ON' }],
    ],
  ])('plans %s', (_name, exposes, name, args, writes) => {
    expect(plan(exposes, name, args)).toEqual({ ok: true, writes });
  });

  it.each([
    ['an unknown command', [light], 'dance', {}, 'unsupported'],
    ['a key the device does not expose', [light], 'set', { colorHue: 20 }, 'unsupported'],
    ['a read-only key', sensor, 'set', { temperature: 20 }, 'unsupported'],
    ['on for a sensor', sensor, 'on', {}, 'unsupported'],
    ['brightness above its maximum', [light], 'set', { brightness: 300 }, 'rejected'],
    ['a number given as text', [light], 'set', { brightness: '100' }, 'rejected'],
    ['a value outside the enum', [cover], 'set', { state: 'AJAR' }, 'rejected'],
    ['set with no arguments', [light], 'set', {}, 'rejected'],
  ])('refuses %s', (_name, exposes, name, args, status) => {
    expect(plan(exposes, name, args)).toMatchObject({ ok: false, status });
  });
});
