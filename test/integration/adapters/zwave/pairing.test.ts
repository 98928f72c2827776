import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockNode } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { plugNode } from '../../../fakes/zwave/nodes.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// Inclusion and exclusion through the real Driver: the mock controller finds a pending node when the
// driver starts inclusion, and `leaveNetwork` plays a device whose button is pressed during exclusion.

const HOME_ID = 0x7e570003;
const PLUG_ID = 'zwave:7e570003-5';

const plug = plugNode(5);

describe('zwave pairing and removal against a mock stick', () => {
  let stick: MockStick;
  let adapter: Adapter;
  let ctx: RecordingContext;
  let joined: MockNode | undefined;

  const isInterviewed = () => ctx.devices.get(PLUG_ID)?.capabilities.values.includes('state') === true;

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: HOME_ID });
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(zwaveOptions(stick.url, { exclusionTimeoutMs: 1500 }));
    await adapter.start(ctx);
    await until(() => ctx.statuses.some((s) => s.state === 'running'), 'the driver');
  });

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  it('includes a node whose button is pressed in the window and interviews it', async () => {
    stick.joinOnNextInclusion({ ...plug, setup: (node) => (joined = node) });

    await adapter.permitJoin?.(60);

    await until(isInterviewed, 'the new node to be interviewed');
    expect(ctx.devices.get(PLUG_ID)).toMatchObject({
      manufacturer: expect.any(String) as string,
      power: 'mains',
    });
    expect(adapter.devices().map((d) => d.id)).toEqual([PLUG_ID]);
  });

  it('closes the window on request so no further node can join', async () => {
    await adapter.permitJoin?.(0);
    await until(() => !stick.isIncluding, 'inclusion to stop');

    const latecomer = plugNode(6);
    expect(await stick.pressButton(latecomer)).toBe('ignored');
    expect(stick.controller.nodes.has(latecomer.id)).toBe(false);
    expect(adapter.devices().map((d) => d.id)).toEqual([PLUG_ID]);
  });

  it('closes the window by itself when its time is up', async () => {
    await adapter.permitJoin?.(1);
    expect(stick.isIncluding).toBe(true);
    await until(() => !stick.isIncluding, 'the window to end');
  });

  it('refuses an S2 PIN that cannot be one before opening anything', async () => {
    const attempt = adapter.permitJoin?.(30, { pin: '12a45' });
    await expect(attempt).rejects.toSatisfy((e) => isFieldgateError(e, 'FG_USAGE'));
    expect(stick.isIncluding).toBe(false);
  });

  it('gives up on a node that does not answer exclusion, and leaves it listed', async () => {
    const attempt = adapter.remove?.(PLUG_ID);

    await until(() => stick.isExcluding, 'exclusion mode');
    await expect(attempt).rejects.toSatisfy(
      (e) => isFieldgateError(e, 'FG_DEVICE_NOT_REMOVED') && e.message.includes('did not answer'),
    );
    expect(stick.isExcluding).toBe(false);
    expect(ctx.devices.has(PLUG_ID)).toBe(true);
  });

  it('excludes the node when its button is pressed, and forgets it', async () => {
    const removal = adapter.remove?.(PLUG_ID);
    await until(() => stick.isExcluding, 'exclusion mode');
    if (joined === undefined) throw new Error('the mock node was never created');
    await stick.leaveNetwork(joined);

    await removal;
    expect(ctx.devices.has(PLUG_ID)).toBe(false);
    expect(adapter.devices()).toEqual([]);
    expect(stick.isExcluding).toBe(false);
  });

  it('gives a node that joins again under the same node id the same device id', async () => {
    stick.joinOnNextInclusion(plug);
    await adapter.permitJoin?.(60);
    await until(isInterviewed, 'the node to be interviewed again');
    await adapter.permitJoin?.(0);
    expect(adapter.devices().map((d) => d.id)).toEqual([PLUG_ID]);
  });
});
