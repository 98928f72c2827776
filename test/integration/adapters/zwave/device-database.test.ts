import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { plugNode } from '../../../fakes/zwave/nodes.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// Once every node is ready the adapter lets zwave-js's device index go (memory); a node included later
// must still be matched to its device file. The plug's ids (0x0086/0x0003/0x0060) are those of the
// device file `0x0086/zw096.json` zwave-js ships: "AEON Labs", label ZW096, description "Smart Switch 6".

const HOME_ID = 0x7e570004;
const FIRST_ID = 'zwave:7e570004-2';
const LATER_ID = 'zwave:7e570004-5';
const FROM_DEVICE_FILE = { name: 'ZW096', manufacturer: 'AEON Labs', model: 'Smart Switch 6' };

describe('zwave device database lookups (mock stick)', () => {
  let stick: MockStick;
  let adapter: Adapter;
  let ctx: RecordingContext;

  const isInterviewed = (id: string) => () =>
    ctx.devices.get(id)?.capabilities.values.includes('state') === true;

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: HOME_ID });
    await stick.addNode(plugNode(2));
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(zwaveOptions(stick.url));
    await adapter.start(ctx);
    await until(isInterviewed(FIRST_ID), 'the interview of node 2');
  });

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  it('describes a node of the network from its device file', () => {
    expect(ctx.devices.get(FIRST_ID)).toMatchObject(FROM_DEVICE_FILE);
  });

  it('describes a node included after every node was ready from its device file too', async () => {
    stick.joinOnNextInclusion(plugNode(5));

    await adapter.permitJoin?.(60);

    await until(isInterviewed(LATER_ID), 'the interview of the included node');
    expect(ctx.devices.get(LATER_ID)).toMatchObject(FROM_DEVICE_FILE);
  });
});
