import { afterAll, beforeAll, expect, it } from 'vitest';
import { BinarySwitchCCSet } from '@zwave-js/cc';
import { CommandClasses } from '@zwave-js/core';
import { ccCaps, MockZWaveFrameType, type MockNode } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import type { DeviceCommand } from '../../../../src/model.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';
import { wakeUp } from '../../../fakes/zwave/wake-up.js';

// A battery switch (not listening, Wake Up CC) that the gateway already knows from an earlier run: after a
// restart zwave-js restores it from its cache as asleep, so commands wait in zwave-js's wake-up queue.

const SLEEPER_ID = 'zwave:7e570002-3';

function command(id: string, name: string, ttlMs: number): DeviceCommand {
  return { id, device: SLEEPER_ID, name, args: {}, origin: 'local', expiresAt: Date.now() + ttlMs };
}

let stick: MockStick;
let sleeper: MockNode;
let adapter: Adapter;
let ctx: RecordingContext;

beforeAll(async () => {
  stick = await MockStick.start({ homeId: 0x7e570002 });
  sleeper = await stick.addNode({
    id: 3,
    capabilities: {
      isListening: false,
      isFrequentListening: false,
      commandClasses: [
        CommandClasses.Version,
        CommandClasses['Manufacturer Specific'],
        CommandClasses['Wake Up'],
        ccCaps({ ccId: CommandClasses['Binary Switch'], isSupported: true, version: 2, defaultValue: false }),
      ],
    },
  });
  // First run: the node wakes up once so zwave-js can interview it; the cache keeps what it learned.
  const firstRun = await recordingContext();
  const first = zwaveDefinition.create(zwaveOptions(stick.url));
  await first.start(firstRun);
  await until(() => firstRun.devices.get(SLEEPER_ID)?.availability === 'asleep', 'the node to sleep');
  await wakeUp(sleeper);
  await until(
    () => firstRun.devices.get(SLEEPER_ID)?.capabilities.commands.some((c) => c.name === 'on') === true,
    'the interview',
  );
  await first.stop();

  ctx = await recordingContext('zwave', firstRun.stateDir);
  adapter = zwaveDefinition.create(zwaveOptions(stick.url));
  await adapter.start(ctx);
  await until(() => ctx.devices.get(SLEEPER_ID)?.availability === 'asleep', 'the node to be asleep');
  sleeper.clearReceivedControllerFrames();
});

afterAll(async () => {
  await adapter.stop();
  await stick.close();
});

it('holds commands until the node wakes up and never sends one whose TTL passed', async () => {
  expect(adapter.isReachable(SLEEPER_ID)).toBe(false);
  expect(ctx.devices.get(SLEEPER_ID)).toMatchObject({ power: 'battery' });
  const signal = new AbortController().signal;

  const late = await adapter.execute(command('late', 'on', 1500), signal);
  const pending = adapter.execute(command('in-time', 'off', 60_000), signal);
  await wakeUp(sleeper);

  expect(late).toMatchObject({ id: 'late', status: 'expired' });
  expect(await pending).toMatchObject({ id: 'in-time', status: 'ok' });
  expect(ctx.awakened).toContain(SLEEPER_ID);
  sleeper.assertReceivedControllerFrame(
    (f) =>
      f.type === MockZWaveFrameType.Request &&
      f.payload instanceof BinarySwitchCCSet &&
      f.payload.targetValue === false,
  );
  sleeper.assertReceivedControllerFrame(
    (f) =>
      f.type === MockZWaveFrameType.Request &&
      f.payload instanceof BinarySwitchCCSet &&
      f.payload.targetValue === true,
    { noMatch: true },
  );
});

it('refuses a command whose TTL has already passed without queueing it', async () => {
  const result = await adapter.execute(command('stale', 'on', -1), new AbortController().signal);
  expect(result).toMatchObject({ status: 'expired' });
});
