import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinarySwitchCCSet, MultilevelSensorCCReport } from '@zwave-js/cc';
import { createMockZWaveRequestFrame, MockZWaveFrameType, type MockNode } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import type { DeviceCommand } from '../../../../src/model.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { addSwitchWithThermometer } from '../../../fakes/zwave/nodes.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// Real zwave-js Driver, opened as `tcp://127.0.0.1:<port>` (the ser2net path), against @zwave-js/testing's
// mock controller and a mock node with a binary switch and an air temperature sensor.

const SWITCH_ID = 'zwave:7e570001-2';

function command(name: string, args: Record<string, unknown> = {}): DeviceCommand {
  return {
    id: `cmd-${name}`,
    device: SWITCH_ID,
    name,
    args,
    origin: 'local',
    expiresAt: Date.now() + 60_000,
  };
}

describe('zwave adapter against a mock stick over tcp://', () => {
  let stick: MockStick;
  let mockNode: MockNode;
  let adapter: Adapter;
  let ctx: RecordingContext;

  beforeAll(async () => {
    stick = await MockStick.start();
    mockNode = await addSwitchWithThermometer(stick);
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(zwaveOptions(stick.url));
    await adapter.start(ctx);
    await until(
      () => ctx.devices.get(SWITCH_ID)?.capabilities.values.includes('temperature') === true,
      'the interview',
    );
  });

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  it('shows the interviewed node with its metadata and commands', () => {
    expect(ctx.statuses.map((s) => s.state)).toEqual(['starting', 'running']);
    const info = adapter.devices().find((d) => d.id === SWITCH_ID);
    expect(info).toMatchObject({
      adapter: 'zwave',
      manufacturer: expect.any(String) as string,
      firmware: expect.any(String) as string,
      availability: 'online',
      power: 'mains',
    });
    expect(info?.capabilities.commands.map((c) => c.name)).toEqual(['on', 'off', 'toggle', 'setValue']);
    expect(info?.capabilities.values).toEqual(expect.arrayContaining(['state', 'temperature']));
    expect(adapter.isReachable(SWITCH_ID)).toBe(true);
  });

  it('forwards a temperature report as a reading in °C', async () => {
    await mockNode.sendToController(
      createMockZWaveRequestFrame(
        new MultilevelSensorCCReport({ nodeId: stick.controller.ownNodeId, type: 1, scale: 0, value: 23.25 }),
        { ackRequested: false },
      ),
    );
    await until(() => ctx.readings.some((r) => r.values.temperature === 23.25), 'the temperature reading');
    const reading = ctx.readings.find((r) => r.values.temperature === 23.25);
    expect(reading).toMatchObject({ device: SWITCH_ID, units: { temperature: '°C' } });
  });

  it('switches the node on and reports the new state', async () => {
    const result = await adapter.execute(command('on'), new AbortController().signal);

    expect(result).toMatchObject({ id: 'cmd-on', status: 'ok' });
    mockNode.assertReceivedControllerFrame(
      (f) =>
        f.type === MockZWaveFrameType.Request &&
        f.payload instanceof BinarySwitchCCSet &&
        f.payload.targetValue === true,
    );
    await until(() => ctx.readings.some((r) => r.values.state === true), 'the state reading');
  });

  it('answers an unsupported command without touching the radio', async () => {
    mockNode.clearReceivedControllerFrames();

    const result = await adapter.execute(command('setLevel', { level: 50 }), new AbortController().signal);

    expect(result).toMatchObject({ status: 'unsupported' });
    mockNode.assertReceivedControllerFrame((f) => f.type === MockZWaveFrameType.Request, { noMatch: true });
  });

  it('rejects malformed arguments and unknown devices', async () => {
    const signal = new AbortController().signal;
    expect(await adapter.execute({ ...command('on'), device: 'zwave:7e570001-99' }, signal)).toMatchObject({
      status: 'rejected',
    });
    expect(await adapter.execute(command('setValue', { commandClass: 'x' }), signal)).toMatchObject({
      status: 'rejected',
    });
  });
});
