import type { Value } from '../../src/model.js';
import { SimDevice, type CommandOutcome, type DeviceKind } from './device.js';
import { walk, type Random } from './random.js';

const MIN_WAKE_INTERVAL_S = 10;
const MAX_WAKE_INTERVAL_S = 3600;

const SLEEPY: DeviceKind = {
  kind: 'sleepy',
  power: 'battery',
  units: { temperature: '°C', battery: '%' },
  values: ['temperature', 'battery'],
  commands: [
    {
      name: 'setInterval',
      args: { seconds: { type: 'number', min: MIN_WAKE_INTERVAL_S, max: MAX_WAKE_INTERVAL_S } },
    },
    { name: 'identify' },
  ],
};

/**
 * A battery sensor that sleeps between wake-ups, like a Z-Wave sensor with a wake-up interval. The adapter
 * runs its sleep cycle; the device holds the interval, which `setInterval` changes from the next cycle on.
 */
export class SleepySensor extends SimDevice {
  wakeIntervalMs: number;
  #temperature: number;
  #batteryPercent = 100;

  constructor(adapter: string, nativeId: string, random: Random, wakeIntervalMs: number) {
    super(adapter, nativeId, SLEEPY, random);
    this.wakeIntervalMs = wakeIntervalMs;
    this.availability = 'asleep';
    this.#temperature = Math.round(random.between(18, 24) * 100) / 100;
  }

  sample(): Record<string, Value> {
    this.#temperature = walk(this.random, this.#temperature, 0.3, -10, 40, 2);
    this.#batteryPercent = Math.max(0, Math.round((this.#batteryPercent - 0.05) * 100) / 100);
    return { temperature: this.#temperature, battery: this.#batteryPercent };
  }

  override execute(name: string, args: Record<string, unknown>): CommandOutcome {
    switch (name) {
      case 'identify':
        return { status: 'ok' };
      case 'setInterval': {
        const seconds = args.seconds;
        if (
          typeof seconds !== 'number' ||
          !Number.isFinite(seconds) ||
          seconds < MIN_WAKE_INTERVAL_S ||
          seconds > MAX_WAKE_INTERVAL_S
        ) {
          return {
            status: 'rejected',
            detail: `seconds must be a number from ${MIN_WAKE_INTERVAL_S} to ${MAX_WAKE_INTERVAL_S}`,
          };
        }
        this.wakeIntervalMs = seconds * 1000;
        return { status: 'ok', data: { seconds } };
      }
      default:
        return super.execute(name, args);
    }
  }
}
