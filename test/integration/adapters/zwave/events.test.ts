import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CentralSceneCCNotification,
  CentralSceneKeys,
  EntryControlCCNotification,
  EntryControlDataTypes,
  EntryControlEventTypes,
  NotificationCCReport,
} from '@zwave-js/cc';
import { CommandClasses } from '@zwave-js/core';
import { ccCaps, createMockZWaveRequestFrame, type MockNode } from '@zwave-js/testing';
import type { CommandClass } from '@zwave-js/cc';
import createZwaveAdapter from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// Stateless events — a keypad, a scene controller, a lock's RF operation — reach the pipeline as readings
// with an `action`, through the real Driver's own handling of each command class.

const KEYPAD_ID = 'zwave:7e570005-2';

describe('zwave events against a mock stick', () => {
  let stick: MockStick;
  let keypad: MockNode;
  let adapter: Adapter;
  let ctx: RecordingContext;

  const send = (cc: CommandClass) =>
    keypad.sendToController(createMockZWaveRequestFrame(cc, { ackRequested: false }));
  const actions = () => ctx.readings.flatMap((r) => (r.values.action === undefined ? [] : [r.values]));

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: 0x7e570005 });
    keypad = await stick.addNode({
      id: 2,
      capabilities: {
        commandClasses: [
          CommandClasses.Version,
          CommandClasses['Manufacturer Specific'],
          ccCaps({
            ccId: CommandClasses.Notification,
            isSupported: true,
            version: 8,
            notificationTypesAndEvents: { 0x06: [0x03, 0x04] },
          }),
          ccCaps({ ccId: CommandClasses['Entry Control'], isSupported: true, version: 1 }),
          ccCaps({ ccId: CommandClasses['Central Scene'], isSupported: true, version: 3 }),
        ],
      },
    });
    ctx = await recordingContext();
    adapter = createZwaveAdapter(zwaveOptions(stick.url));
    await adapter.start(ctx);
    await until(() => ctx.devices.get(KEYPAD_ID)?.manufacturer !== undefined, 'the interview');
  });

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  it('forwards a Notification CC event that has no state as an action', async () => {
    await send(
      new NotificationCCReport({ nodeId: 1, notificationType: 0x06, notificationEvent: 0x03 }),
    );
    await until(() => actions().length > 0, 'the event reading');
    expect(actions()).toContainEqual({ action: 'rfLockOperation', notificationType: 'accessControl' });
  });

  it('forwards a keypad entry with what was typed', async () => {
    await send(
      new EntryControlCCNotification({
        nodeId: 1,
        sequenceNumber: 1,
        eventType: EntryControlEventTypes.DisarmAll,
        dataType: EntryControlDataTypes.ASCII,
        eventData: '1234',
      }),
    );
    await until(() => actions().some((v) => v.action === 'disarmAll'), 'the keypad reading');
    expect(actions()).toContainEqual({ action: 'disarmAll', entryData: '1234', entryDataType: 'ascii' });
  });

  it('forwards a scene button press', async () => {
    await send(
      new CentralSceneCCNotification({
        nodeId: 1,
        sequenceNumber: 1,
        sceneNumber: 2,
        keyAttribute: CentralSceneKeys.KeyPressed2x,
      }),
    );
    await until(() => actions().some((v) => v.action === 'scene2Pressed2x'), 'the scene reading');
  });
});
