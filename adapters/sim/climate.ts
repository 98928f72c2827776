import type { Value } from '../../src/model.js';
import { SimDevice, type DeviceKind } from './device.js';
import { walk, type Random } from './random.js';

const CLIMATE: DeviceKind = {
  kind: 'climate',
  power: 'mains',
  units: { temperature: '°C', humidity: '%', pressure: 'hPa' },
  values: ['temperature', 'humidity', 'pressure'],
  commands: [],
};

/** A mains-powered climate sensor: temperature, humidity and pressure on a random walk. */
export class ClimateSensor extends SimDevice {
  #temperature: number;
  #humidity: number;
  #pressure: number;

  constructor(adapter: string, nativeId: string, random: Random) {
    super(adapter, nativeId, CLIMATE, random);
    this.#temperature = Math.round(random.between(18, 24) * 100) / 100;
    this.#humidity = Math.round(random.between(35, 55) * 10) / 10;
    this.#pressure = Math.round(random.between(1000, 1020) * 10) / 10;
  }

  sample(): Record<string, Value> {
    this.#temperature = walk(this.random, this.#temperature, 0.2, -10, 40, 2);
    this.#humidity = walk(this.random, this.#humidity, 0.5, 10, 95, 1);
    this.#pressure = walk(this.random, this.#pressure, 0.3, 960, 1050, 1);
    return { temperature: this.#temperature, humidity: this.#humidity, pressure: this.#pressure };
  }
}
