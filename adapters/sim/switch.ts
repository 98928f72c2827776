import type { Value } from '../../src/model.js';
import { SimDevice, type CommandOutcome, type DeviceKind } from './device.js';
import { walk, type Random } from './random.js';

const SWITCH: DeviceKind = {
  kind: 'switch',
  power: 'mains',
  units: { power: 'W' },
  values: ['state', 'power'],
  commands: [{ name: 'on' }, { name: 'off' }, { name: 'toggle' }],
};

/** A metering smart plug: `state` (true = on) and the `power` its load draws. */
export class SmartSwitch extends SimDevice {
  #isOn = false;
  #loadW: number;

  constructor(adapter: string, nativeId: string, random: Random) {
    super(adapter, nativeId, SWITCH, random);
    this.#loadW = Math.round(random.between(20, 80));
  }

  sample(): Record<string, Value> {
    this.#loadW = walk(this.random, this.#loadW, 2, 5, 120, 1);
    // An off plug still draws its own standby power.
    return { state: this.#isOn, power: this.#isOn ? this.#loadW : 0.3 };
  }

  override execute(name: string, args: Record<string, unknown>): CommandOutcome {
    switch (name) {
      case 'on':
        this.#isOn = true;
        break;
      case 'off':
        this.#isOn = false;
        break;
      case 'toggle':
        this.#isOn = !this.#isOn;
        break;
      default:
        return super.execute(name, args);
    }
    return { status: 'ok', data: { state: this.#isOn }, reportNow: true };
  }
}
