import type {
  Availability,
  CommandCapability,
  CommandResult,
  DeviceInfo,
  PowerSource,
  Reading,
  Value,
} from '../../src/model.js';
import type { Random } from './random.js';

/** A command's outcome as the device sees it; the adapter adds the command id. */
export interface CommandOutcome extends Omit<CommandResult, 'id'> {
  /** The command changed what the device reports: emit a reading now. */
  reportNow?: boolean;
}

/** What is fixed for every device of one kind. */
export interface DeviceKind {
  /** The native id prefix: `climate` → `climate-01`. */
  kind: string;
  power: PowerSource;
  /** Unit per value name; values without a unit (booleans) are absent. */
  units: Record<string, string>;
  values: string[];
  commands: CommandCapability[];
}

/**
 * One simulated device: its info, its values and its per-device `seq`. Kinds differ only in what they
 * sample and which commands they take; scheduling (report timers, sleep cycles) belongs to the adapter.
 */
export abstract class SimDevice {
  readonly #info: DeviceInfo;
  readonly #units: Record<string, string>;
  protected readonly random: Random;
  #seq = 0;

  constructor(adapter: string, nativeId: string, kind: DeviceKind, random: Random) {
    this.#info = {
      id: `${adapter}:${nativeId}`,
      adapter,
      name: nativeId,
      manufacturer: 'fieldgate',
      model: `sim-${kind.kind}`,
      firmware: '1.0.0',
      capabilities: { values: kind.values, commands: kind.commands },
      availability: 'online',
      lastSeen: 0,
      power: kind.power,
    };
    this.#units = kind.units;
    this.random = random;
  }

  get id(): string {
    return this.#info.id;
  }

  get availability(): Availability {
    return this.#info.availability;
  }

  set availability(availability: Availability) {
    this.#info.availability = availability;
  }

  /** A copy of the device's info, safe to hand out. */
  info(): DeviceInfo {
    return { ...this.#info };
  }

  /** The values to report now, or undefined when an event device has no event to report. */
  abstract sample(): Record<string, Value> | undefined;

  /** Runs a command the device was found able to receive. Kinds without commands keep this default. */
  execute(name: string, _args: Record<string, unknown>): CommandOutcome {
    return { status: 'unsupported', detail: `${this.#info.model} has no command '${name}'` };
  }

  /** A reading of `values` at `now` with the next `seq`; the device counts as seen at `now`. */
  reading(now: number, values: Record<string, Value>): Reading {
    this.#seq++;
    this.#info.lastSeen = now;
    const units: Record<string, string> = {};
    for (const name of Object.keys(values)) {
      const unit = this.#units[name];
      if (unit !== undefined) units[name] = unit;
    }
    return { device: this.#info.id, ts: now, values, units, seq: this.#seq };
  }
}
