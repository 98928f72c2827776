import type { DeviceProfileLookup } from '../devices/device-settings.js';
import { isEventValue, type DeviceId, type Reading, type Value } from '../model.js';
import { withValues } from './match.js';
import type { Stage } from './stage.js';

interface Held {
  reading: Reading;
  /** The pipeline's `now` after which the device counts as quiet. */
  dueAt: number;
}

/**
 * Per-device `filter.debounceMs` (config `devices:`): a device's readings are held until it has been quiet
 * for that long, then forwarded as one reading (each value its newest, `ts` and `seq` of the newest
 * reading). Event values (`action`, see `isEventValue`) are not held: they leave at once as a reading of
 * their own, so two presses stay two presses. Devices without `debounceMs` pass untouched.
 *
 * Windowed: `flush` emits the readings whose device went quiet by `now`, or all of them when `final`.
 */
export class DebounceStage implements Stage {
  readonly name = 'debounce';
  readonly #lookup: DeviceProfileLookup;
  readonly #held = new Map<DeviceId, Held>();

  constructor(lookup: DeviceProfileLookup) {
    this.#lookup = lookup;
  }

  process(readings: readonly Reading[], now: number): Reading[] {
    const out: Reading[] = [];
    for (const reading of readings) {
      const debounceMs = this.#lookup(reading.device)?.filter?.debounceMs ?? 0;
      if (debounceMs <= 0) {
        out.push(reading);
        continue;
      }
      const events: Record<string, Value> = {};
      const states: Record<string, Value> = {};
      let eventCount = 0;
      let stateCount = 0;
      for (const [name, value] of Object.entries(reading.values)) {
        if (isEventValue(name)) {
          events[name] = value;
          eventCount++;
        } else {
          states[name] = value;
          stateCount++;
        }
      }
      if (eventCount > 0) out.push(stateCount === 0 ? reading : withValues(reading, events));
      if (stateCount > 0)
        this.#hold(eventCount === 0 ? reading : withValues(reading, states), now + debounceMs);
    }
    return out;
  }

  flush(now: number, final: boolean): Reading[] {
    const out: Reading[] = [];
    for (const [device, held] of this.#held) {
      if (!final && held.dueAt > now) continue;
      this.#held.delete(device);
      out.push(held.reading);
    }
    return out;
  }

  #hold(reading: Reading, dueAt: number): void {
    const previous = this.#held.get(reading.device);
    if (previous === undefined) {
      this.#held.set(reading.device, { reading, dueAt });
      return;
    }
    const merged: Reading = {
      ...reading,
      values: { ...previous.reading.values, ...reading.values },
    };
    if (previous.reading.units !== undefined || reading.units !== undefined)
      merged.units = { ...previous.reading.units, ...reading.units };
    previous.reading = merged;
    previous.dueAt = dueAt;
  }
}
