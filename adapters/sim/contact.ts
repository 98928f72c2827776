import type { Value } from '../../src/model.js';
import { SimDevice, type DeviceKind } from './device.js';
import type { Random } from './random.js';

const CONTACT: DeviceKind = {
  kind: 'contact',
  power: 'battery',
  units: { battery: '%' },
  values: ['contact', 'battery'],
  commands: [],
};

/** Chance that the door opens or closes between two samples. */
const FLIP_PROBABILITY = 0.2;

/**
 * A door/window contact (`contact`: true = closed). It reports its state once, then only when it flips,
 * like a real contact that sends an event per change; its battery rides along.
 */
export class ContactSensor extends SimDevice {
  #isClosed: boolean;
  #batteryPercent = 100;
  #hasReported = false;

  constructor(adapter: string, nativeId: string, random: Random) {
    super(adapter, nativeId, CONTACT, random);
    this.#isClosed = random.chance(0.5);
  }

  sample(): Record<string, Value> | undefined {
    if (this.#hasReported && !this.random.chance(FLIP_PROBABILITY)) return undefined;
    if (this.#hasReported) this.#isClosed = !this.#isClosed;
    this.#hasReported = true;
    this.#batteryPercent = Math.max(0, Math.round((this.#batteryPercent - 0.01) * 100) / 100);
    return { contact: this.#isClosed, battery: this.#batteryPercent };
  }
}
