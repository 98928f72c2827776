import { afterAll, beforeAll, expect, it } from 'vitest';
import { CommandClasses } from '@zwave-js/core';
import { ccCaps } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

const SWITCH_ID = 'zwave:7e570003-2';

const canSwitch = (ctx: RecordingContext): boolean =>
  ctx.devices.get(SWITCH_ID)?.capabilities.commands.some((c) => c.name === 'on') === true;

let stick: MockStick;
let adapter: Adapter;
let ctx: RecordingContext;

beforeAll(async () => {
  stick = await MockStick.start({ homeId: 0x7e570003 });
  await stick.addNode({
    id: 2,
    capabilities: {
      commandClasses: [
        CommandClasses.Version,
        ccCaps({ ccId: CommandClasses['Binary Switch'], isSupported: true, version: 2, defaultValue: false }),
      ],
    },
  });
  ctx = await recordingContext();
  adapter = zwaveDefinition.create(zwaveOptions(stick.url));
  await adapter.start(ctx);
  await until(() => canSwitch(ctx), 'the interview');
});

afterAll(async () => {
  await adapter.stop();
  await stick.close();
});

it('reports degraded when the stick vanishes and recovers when it is back', async () => {
  const port = Number(new URL(stick.url).port);
  await stick.pause();

  // zwave-js first retries the port on its own for several seconds; then the adapter takes over.
  await until(() => ctx.statuses.at(-1)?.state === 'degraded', 'degraded', 50_000);
  expect(adapter.isReachable(SWITCH_ID)).toBe(false);
  expect(ctx.devices.get(SWITCH_ID)?.availability).toBe('unknown');
  const signal = new AbortController().signal;
  const offline = await adapter.execute(
    { id: 'c1', device: SWITCH_ID, name: 'on', args: {}, origin: 'local' },
    signal,
  );
  expect(offline).toMatchObject({ status: 'failed' });

  await stick.resume(port);
  await until(() => ctx.statuses.at(-1)?.state === 'running', 'running again', 50_000);
  await until(() => adapter.isReachable(SWITCH_ID) && canSwitch(ctx), 'the node to be back');
  const result = await adapter.execute(
    { id: 'c2', device: SWITCH_ID, name: 'on', args: {}, origin: 'local' },
    signal,
  );
  expect(result).toMatchObject({ status: 'ok' });
}, 120_000);

it('reports unavailable when the stick is not there at start, and keeps trying', async () => {
  const missing = await recordingContext();
  const lonely = zwaveDefinition.create(zwaveOptions('tcp://127.0.0.1:1'));
  await lonely.start(missing);
  await until(
    () => missing.statuses.filter((s) => s.state === 'unavailable').length >= 2,
    'two attempts',
    90_000,
  );
  await lonely.stop();
  expect(missing.statuses.at(-1)?.state).toBe('stopped');
}, 120_000);
