import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CentralSceneCommand,
  CentralSceneKeys,
  CommandClass,
  EntryControlCommand,
  EntryControlDataTypes,
  EntryControlEventTypes,
  NotificationCCReport,
} from '@zwave-js/cc';
import { CommandClasses } from '@zwave-js/core';
import { ccCaps, createMockZWaveRequestFrame, type MockNode } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// Stateless events — a keypad, a scene controller, a lock's RF operation — reach the pipeline as readings
// with an `action`, through the real Driver's own parsing and handling of each command class.
//
// zwave-js's Entry Control and Central Scene notifications can be parsed but not serialized, so the mock
// node sends those as raw frames, byte for byte as the Z-Wave Application CC specification lays them out.

const KEYPAD_ID = 'zwave:7e570005-2';

describe('zwave events against a mock stick', () => {
  let stick: MockStick;
  let keypad: MockNode;
  let adapter: Adapter;
  let ctx: RecordingContext;

  const send = (cc: CommandClass) =>
    keypad.sendToController(createMockZWaveRequestFrame(cc, { ackRequested: false }));
  const sendRaw = (ccId: CommandClasses, ccCommand: number, payload: number[]) =>
    send(new CommandClass({ nodeId: 1, ccId, ccCommand, payload: Uint8Array.from(payload) }));
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
        ],
      },
    });
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(zwaveOptions(stick.url));
    await adapter.start(ctx);
    await until(() => ctx.devices.get(KEYPAD_ID)?.manufacturer !== undefined, 'the interview');
  });

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  it('forwards a Notification CC event that has no state as an action', async () => {
    await send(new NotificationCCReport({ nodeId: 1, notificationType: 0x06, notificationEvent: 0x03 }));
    await until(() => actions().length > 0, 'the event reading');
    expect(actions()).toContainEqual({ action: 'rfLockOperation', notificationType: 'accessControl' });
  });

  it('forwards a keypad entry with what was typed', async () => {
    // Sequence number, data type, event type, data length, then ASCII padded with 0xff to 16 bytes.
    const typed = [...Buffer.from('1234', 'ascii'), ...Array<number>(12).fill(0xff)];
    await sendRaw(CommandClasses['Entry Control'], EntryControlCommand.Notification, [
      1,
      EntryControlDataTypes.ASCII,
      EntryControlEventTypes.DisarmAll,
      typed.length,
      ...typed,
    ]);
    await until(() => actions().some((v) => v.action === 'disarmAll'), 'the keypad reading');
    expect(actions()).toContainEqual({ action: 'disarmAll', entryData: '1234', entryDataType: 'ascii' });
  });

  it('forwards a scene button press', async () => {
    // Sequence number, key attribute (slow refresh off), scene number.
    await sendRaw(CommandClasses['Central Scene'], CentralSceneCommand.Notification, [
      1,
      CentralSceneKeys.KeyPressed2x,
      2,
    ]);
    await until(() => actions().some((v) => v.action === 'scene2Pressed2x'), 'the scene reading');
  });
});
