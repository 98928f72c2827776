import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationCCSet, type CommandClass } from '@zwave-js/cc';
import type { MockNodeBehavior } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { addConfigurablePlug } from '../../../fakes/zwave/nodes.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// Configuration parameters from the operator's per-device settings (config `devices:`) reach the device
// as Configuration CC Set commands once it is interviewed, sized from what the interview learned.

const PLUG = 'zwave:7e570009-2';

describe('Z-Wave configuration parameters from device settings', () => {
  let stick: MockStick;
  let adapter: Adapter;
  let ctx: RecordingContext;
  const sets: ConfigurationCCSet[] = [];
  const recorder: MockNodeBehavior = {
    handleCC: (_controller, _self, cc: CommandClass) => {
      if (cc instanceof ConfigurationCCSet) sets.push(cc);
      return undefined;
    },
  };

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: 0x7e570009 });
    await addConfigurablePlug(stick, [recorder]);
    ctx = await recordingContext();
    ctx.settings.set(PLUG, { configuration: { '1': 5, '2': 300, '40': 1 } });
    adapter = zwaveDefinition.create(zwaveOptions(stick.url));
    await adapter.start(ctx);
  }, 60_000);

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  it('sets each parameter with the size the device declared', async () => {
    await until(() => sets.length >= 2, 'two Configuration Set commands', 60_000);
    expect(sets.map((s) => [s.parameter, s.value, s.valueSize])).toEqual(
      expect.arrayContaining([
        [1, 5, 1],
        [2, 300, 2],
      ]),
    );
    // Reported as set only once the device confirmed it or it was read back.
    const isSet = (parameter: number) =>
      ctx.logLines.some(
        (l) => l.parameter === parameter && /parameter set \((confirmed|read back)\)/.test(String(l.msg)),
      );
    await until(() => isSet(1) && isSet(2), 'both parameters read back');
  });

  it('reports a parameter the device does not have, by number, once', async () => {
    const failed = () =>
      ctx.logLines.filter((l) => l.parameter === 40 && String(l.msg).includes('could not be set'));
    await until(() => failed().length > 0, 'the failure to be logged', 60_000);
    expect(failed()).toHaveLength(1);
    expect(failed()[0]).toMatchObject({ level: 40, device: PLUG });
    expect(sets.some((s) => s.parameter === 40)).toBe(false);
  });
});
