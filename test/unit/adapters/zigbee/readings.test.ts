import { describe, expect, it } from 'vitest';
import {
  buildReading,
  genericClusterValues,
  normalizeConverted,
} from '../../../../adapters/zigbee/readings.js';

describe('normalizeConverted', () => {
  it.each([
    [
      'snake_case to lowerCamel',
      { color_temp: 370, power_on_behavior: 'previous' },
      { colorTemp: 370, powerOnBehavior: 'previous' },
    ],
    ['linkquality renamed', { linkquality: 120 }, { linkQuality: 120 }],
    ['endpoint suffixes', { state_l1: 'ON' }, { stateL1: 'ON' }],
    ['objects flattened one level', { color: { x: 0.3, y: 0.4 } }, { colorX: 0.3, colorY: 0.4 }],
    [
      'arrays and undefined dropped',
      { action: 'single', buttons: [1, 2], battery: undefined },
      { action: 'single' },
    ],
    [
      'booleans and null kept',
      { contact: false, occupancy: true, action: null },
      { contact: false, occupancy: true, action: null },
    ],
  ])('%s', (_name, converted, values) => {
    expect(normalizeConverted(converted)).toEqual(values);
  });
});

describe('genericClusterValues', () => {
  it.each([
    ['msTemperatureMeasurement', { measuredValue: 2150 }, { temperature: 21.5 }],
    ['msRelativeHumidity', { measuredValue: 5123 }, { humidity: 51.23 }],
    ['msIlluminanceMeasurement', { measuredValue: 10001 }, { illuminance: 10 }],
    ['genPowerCfg', { batteryPercentageRemaining: 200 }, { battery: 100 }],
    ['genOnOff', { onOff: 1 }, { state: 'ON' }],
    ['genOnOff', { globalSceneCtrl: 1 }, {}],
    ['closuresDoorLock', { lockState: 1 }, {}],
  ])('%s %j', (cluster, data, values) => {
    expect(genericClusterValues(cluster, data)).toEqual(values);
  });
});

describe('buildReading', () => {
  it('prefers the definition’s unit, falls back to the table, and adds link quality', () => {
    const reading = buildReading({
      device: 'zigbee:0x01',
      ts: 1000,
      values: { voltage: 230.1, temperature: 21.5, action: 'single' },
      exposedUnits: { voltage: 'V' },
      linkQuality: 87,
    });
    expect(reading).toEqual({
      device: 'zigbee:0x01',
      ts: 1000,
      values: { voltage: 230.1, temperature: 21.5, action: 'single', linkQuality: 87 },
      units: { voltage: 'V', temperature: '°C', linkQuality: 'lqi' },
    });
  });
});
