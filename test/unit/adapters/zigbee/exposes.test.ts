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
      transition: { type: 'number', min: 0, max: 6553.5 },
    });
  });

  it('offers a colour light’s composites as flat arguments, and colour as hex', () => {
    const properties = flattenExposes([colorLight]);
    const set = capabilitiesOf(properties).commands.find((c) => c.name === 'set');
    expect(set?.args).toMatchObject({
      colorX: { type: 'number' },
      colorY: { type: 'number' },
      colorHue: { type: 'number', min: 0, max: 360 },
      colorSaturation: { type: 'number', min: 0, max: 100 },
      color: { type: 'string' },
    });
    // Readings name the same values the same way (`color: {x, y}` → colorX, colorY).
    expect(capabilitiesOf(properties).values).toEqual(
      expect.arrayContaining(['colorX', 'colorY', 'colorHue', 'colorSaturation']),
    );
    expect(capabilitiesOf(properties).values).not.toContain('color');
  });
});

const colorLight: ExposeLike = {
  type: 'light',
  features: [
    ...light.features!,
    {
      type: 'composite',
      name: 'color_xy',
      property: 'color',
      access: 7,
      features: [
        { type: 'numeric', name: 'x', property: 'x', access: 7 },
        { type: 'numeric', name: 'y', property: 'y', access: 7 },
      ],
    },
    {
      type: 'composite',
      name: 'color_hs',
      property: 'color',
      access: 7,
      features: [
        { type: 'numeric', name: 'hue', property: 'hue', access: 7, value_min: 0, value_max: 360 },
        {
          type: 'numeric',
          name: 'saturation',
          property: 'saturation',
          access: 7,
          value_min: 0,
          value_max: 100,
        },
      ],
    },
  ],
};

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
    [
      'xy colour as one composite',
      { colorX: 0.3, colorY: 0.4 },
      [{ key: 'color', value: { x: 0.3, y: 0.4 } }],
    ],
    [
      'hue and saturation as one composite',
      { colorHue: 120, colorSaturation: 80 },
      [{ key: 'color', value: { hue: 120, saturation: 80 } }],
    ],
    ['hex colour', { color: '#FF8800' }, [{ key: 'color', value: { hex: '#FF8800' } }]],
    ['hex colour without #', { color: '00ff00' }, [{ key: 'color', value: { hex: '#00ff00' } }]],
    [
      'state and brightness in one message',
      { state: 'ON', brightness: 10 },
      [
        { key: 'state', value: 'ON' },
        { key: 'brightness', value: 10 },
      ],
    ],
  ])('plans %s', (_name, args, writes) => {
    expect(plan([colorLight], 'set', args)).toEqual({ ok: true, writes });
  });

  it('carries a transition beside the values, not as a value', () => {
    expect(plan([colorLight], 'set', { brightness: 10, transition: 2.5 })).toEqual({
      ok: true,
      writes: [{ key: 'brightness', value: 10 }],
      transition: 2.5,
    });
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
    ['a colour that is not hex', [colorLight], 'set', { color: 'blue' }, 'rejected'],
    ['a negative transition', [light], 'set', { brightness: 1, transition: -1 }, 'rejected'],
    ['a transition alone', [light], 'set', { transition: 1 }, 'rejected'],
    ['a transition for a cover', [cover], 'set', { position: 1, transition: 1 }, 'unsupported'],
  ])('refuses %s', (_name, exposes, name, args, status) => {
    expect(plan(exposes, name, args)).toMatchObject({ ok: false, status });
  });
});
