import type { SimDevice } from './device.js';
import type { SimOptions } from './options.js';
import { ClimateSensor } from './climate.js';
import { ContactSensor } from './contact.js';
import { createRandom, deriveSeed, type Random } from './random.js';
import { SleepySensor } from './sleepy.js';
import { SmartSwitch } from './switch.js';

export interface Fleet {
  /** Devices that report on the fleet's schedule (or at full speed). */
  reporters: SimDevice[];
  /** Devices that report once per wake-up on their own sleep cycle. */
  sleepers: SleepySensor[];
}

/** `climate-01`…: two digits, more when the count needs them (`climate-001` … `climate-100`). */
function nativeIds(kind: string, count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `${kind}-${String(i + 1).padStart(width, '0')}`);
}

/** Builds the fleet `options.fleet` asks for, each device drawing from its own stream of `seed`. */
export function buildFleet(adapter: string, options: SimOptions, seed: number): Fleet {
  const random = (nativeId: string): Random => createRandom(deriveSeed(seed, nativeId));
  const { fleet } = options;
  return {
    reporters: [
      ...nativeIds('climate', fleet.climate).map((id) => new ClimateSensor(adapter, id, random(id))),
      ...nativeIds('switch', fleet.switch).map((id) => new SmartSwitch(adapter, id, random(id))),
      ...nativeIds('contact', fleet.contact).map((id) => new ContactSensor(adapter, id, random(id))),
    ],
    sleepers: nativeIds('sleepy', fleet.sleepy).map(
      (id) => new SleepySensor(adapter, id, random(id), options.wakeIntervalMs),
    ),
  };
}
