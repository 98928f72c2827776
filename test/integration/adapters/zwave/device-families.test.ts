import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BinarySwitchCCSet,
  DoorLockCCOperationSet,
  DoorLockMode,
  DoorLockOperationType,
  MeterCCReport,
  MultilevelSensorCCReport,
  MultilevelSwitchCCSet,
  NotificationCCReport,
  SwitchType,
  type CommandClass,
} from '@zwave-js/cc';
import { CommandClasses } from '@zwave-js/core';
import { ccCaps, createMockZWaveRequestFrame, type MockNode, type MockNodeBehavior } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import type { DeviceCommand } from '../../../../src/model.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// The device families people own, modelled as @zwave-js/testing mock nodes with the real zwave-js Driver
// above them: a lock that joined without security, a double relay (Multi Channel), a dimmer with a meter,
// a notification sensor that also reports a voltage in mV.

const HOME = 0x7e570007;
const LOCK = `zwave:7e570007-2`;
const RELAY = `zwave:7e570007-3`;
const DIMMER = `zwave:7e570007-4`;
const SENSOR = `zwave:7e570007-5`;

const BASE_CCS = [CommandClasses.Version, CommandClasses['Manufacturer Specific']];

let seq = 0;
function command(device: string, name: string, args: Record<string, unknown> = {}): DeviceCommand {
  seq += 1;
  return { id: `cmd-${seq}`, device, name, args, origin: 'local', expiresAt: Date.now() + 60_000 };
}

/** Commands each mock node received, Multi Channel / Supervision unwrapped, with the endpoint addressed. */
const received = new Map<number, { cc: CommandClass; endpoint: number }[]>();

/** A behaviour that only records what the node received and lets the default behaviours answer. */
const recorder: MockNodeBehavior = {
  handleCC: (_controller, self, cc) => {
    received.set(self.id, [...(received.get(self.id) ?? []), { cc, endpoint: cc.endpointIndex }]);
    return undefined;
  },
};

describe('Z-Wave device families against a mock stick', () => {
  let stick: MockStick;
  let adapter: Adapter;
  let ctx: RecordingContext;
  const nodes = new Map<number, MockNode>();
  const signal = new AbortController().signal;

  const run = (device: string, name: string, args: Record<string, unknown> = {}) =>
    adapter.execute(command(device, name, args), signal);
  const sent = (nodeId: number) => received.get(nodeId) ?? [];
  const clearSent = (nodeId: number) => received.delete(nodeId);
  const report = (nodeId: number, cc: CommandClass) =>
    nodes.get(nodeId)!.sendToController(createMockZWaveRequestFrame(cc, { ackRequested: false }));

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: HOME });
    nodes.set(
      2,
      await stick.addNode(
        {
          id: 2,
          capabilities: {
            commandClasses: [
              ...BASE_CCS,
              ccCaps({
                ccId: CommandClasses['Door Lock'],
                isSupported: true,
                version: 4,
                supportedOperationTypes: [DoorLockOperationType.Constant],
                supportedDoorLockModes: [DoorLockMode.Unsecured, DoorLockMode.Secured],
              }),
            ],
          },
        },
        [recorder],
      ),
    );
    const relay = ccCaps({
      ccId: CommandClasses['Binary Switch'],
      isSupported: true,
      version: 2,
      defaultValue: false,
    });
    nodes.set(
      3,
      await stick.addNode(
        {
          id: 3,
          capabilities: {
            commandClasses: [
              ...BASE_CCS,
              { ccId: CommandClasses['Multi Channel'], isSupported: true, version: 4 },
            ],
            endpoints: [{ commandClasses: [relay] }, { commandClasses: [relay] }],
          },
        },
        [recorder],
      ),
    );
    nodes.set(
      4,
      await stick.addNode(
        {
          id: 4,
          capabilities: {
            commandClasses: [
              ...BASE_CCS,
              ccCaps({
                ccId: CommandClasses['Multilevel Switch'],
                isSupported: true,
                version: 4,
                primarySwitchType: SwitchType['Down/Up'],
                defaultValue: 0,
              }),
              ccCaps({
                ccId: CommandClasses.Meter,
                isSupported: true,
                version: 4,
                meterType: 1,
                supportedScales: [0, 2],
                supportedRateTypes: [1],
                supportsReset: false,
                getValue: (scale) => (scale === 0 ? 12.5 : 40),
              }),
            ],
          },
        },
        [recorder],
      ),
    );
    nodes.set(
      5,
      await stick.addNode(
        {
          id: 5,
          capabilities: {
            commandClasses: [
              ...BASE_CCS,
              ccCaps({
                ccId: CommandClasses.Notification,
                isSupported: true,
                version: 8,
                supportsV1Alarm: false,
                notificationTypesAndEvents: { 0x07: [0x08] },
              }),
              ccCaps({
                ccId: CommandClasses['Multilevel Sensor'],
                isSupported: true,
                version: 11,
                sensors: { 0x0f: { supportedScales: [1] } },
                getValue: () => 3012,
              }),
            ],
          },
        },
        [recorder],
      ),
    );
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(zwaveOptions(stick.url));
    await adapter.start(ctx);
    for (const id of [LOCK, RELAY, DIMMER, SENSOR])
      await until(() => ctx.devices.get(id)?.manufacturer !== undefined, `the interview of ${id}`, 60_000);
  }, 120_000);

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  describe('a lock that joined without security', () => {
    it('is marked insecure in `devices` and in the adapter status', async () => {
      await until(() => ctx.devices.get(LOCK)?.insecure !== undefined, 'the lock to be marked insecure');
      expect(ctx.devices.get(LOCK)?.insecure).toMatch(/Door Lock needs S2 Access Control .* no security/);
      expect(ctx.statuses.at(-1)).toMatchObject({
        state: 'running',
        detail: expect.stringContaining(LOCK) as string,
      });
      expect(ctx.devices.get(DIMMER)?.insecure).toBeUndefined();
    });

    it('answers `lock` with failed and the reason, sending nothing the lock would ignore', async () => {
      clearSent(2);
      const result = await run(LOCK, 'lock');
      expect(result.status).toBe('failed');
      expect(result.detail).toMatch(/insecure: Door Lock needs S2 Access Control/);
      expect(sent(2).some((f) => f.cc instanceof DoorLockCCOperationSet)).toBe(false);
    });
  });

  describe('a double relay (Multi Channel)', () => {
    it('switches each endpoint on its own and reads each back', async () => {
      expect(await run(RELAY, 'on', { endpoint: 2 })).toMatchObject({ status: 'ok' });
      expect(sent(3)).toContainEqual(
        expect.objectContaining({ endpoint: 2, cc: expect.any(BinarySwitchCCSet) as unknown }),
      );
      const set = sent(3).find((f) => f.cc instanceof BinarySwitchCCSet);
      expect((set?.cc as BinarySwitchCCSet).targetValue).toBe(true);
      await until(() => ctx.readingsOf(RELAY).some((r) => r.values.stateEp2 === true), 'endpoint 2 on');

      clearSent(3);
      expect(await run(RELAY, 'off', { endpoint: 1 })).toMatchObject({ status: 'ok' });
      expect(sent(3).map((f) => [f.endpoint, (f.cc as BinarySwitchCCSet).targetValue])).toContainEqual([
        1,
        false,
      ]);
    });

    it('lists the endpoints in the command description and refuses one it lacks', async () => {
      const on = ctx.devices.get(RELAY)?.capabilities.commands.find((c) => c.name === 'on');
      expect(on?.args?.endpoint).toEqual({ type: 'number', min: 0, max: 2 });
      expect(await run(RELAY, 'on', { endpoint: 7 })).toMatchObject({ status: 'rejected' });
    });
  });

  describe('a dimmer with a meter', () => {
    it('takes setLevel 100 as full (99) and 0–100 as the range', async () => {
      clearSent(4);
      expect(await run(DIMMER, 'setLevel', { level: 100 })).toMatchObject({ status: 'ok' });
      const set = sent(4).find((f) => f.cc instanceof MultilevelSwitchCCSet)?.cc as MultilevelSwitchCCSet;
      expect(set.targetValue).toBe(99);
      await until(() => ctx.readingsOf(DIMMER).some((r) => r.values.level === 100), 'the level to read 100');
    });

    it('sends the transition duration it was given', async () => {
      clearSent(4);
      expect(await run(DIMMER, 'setLevel', { level: 30, duration: 5 })).toMatchObject({ status: 'ok' });
      const set = sent(4).find((f) => f.cc instanceof MultilevelSwitchCCSet)?.cc as MultilevelSwitchCCSet;
      expect(set.targetValue).toBe(30);
      expect(set.duration?.toMilliseconds()).toBe(5000);
    });

    it('reads energy and power from the meter', async () => {
      await report(4, new MeterCCReport({ nodeId: 1, type: 1, scale: 0, value: 13.25, rateType: 1 }));
      await until(() => ctx.readingsOf(DIMMER).some((r) => r.values.energy === 13.25), 'the energy reading');
      expect(ctx.readingsOf(DIMMER).find((r) => r.values.energy === 13.25)?.units).toEqual({ energy: 'kWh' });
    });
  });

  describe('a notification sensor', () => {
    it('reports motion without alarmType / alarmLevel noise', async () => {
      const before = ctx.readingsOf(SENSOR).length;
      await report(
        5,
        new NotificationCCReport({ nodeId: 1, notificationType: 0x07, notificationEvent: 0x08 }),
      );
      await until(() => ctx.readingsOf(SENSOR).some((r) => r.values.motion === true), 'the motion reading');
      await report(
        5,
        new NotificationCCReport({ nodeId: 1, notificationType: 0x07, notificationEvent: 0x00 }),
      );
      await until(() => ctx.readingsOf(SENSOR).some((r) => r.values.motion === false), 'motion cleared');
      const names = ctx
        .readingsOf(SENSOR)
        .slice(before)
        .flatMap((r) => Object.keys(r.values));
      expect(names.filter((n) => /alarm(Type|Level)/i.test(n))).toEqual([]);
    });

    it('reports a millivolt voltage as volts under `voltage`', async () => {
      await report(5, new MultilevelSensorCCReport({ nodeId: 1, type: 0x0f, scale: 1, value: 2987 }));
      await until(
        () => ctx.readingsOf(SENSOR).some((r) => r.values.voltage === 2.987),
        'the voltage reading',
      );
      expect(ctx.readingsOf(SENSOR).find((r) => r.values.voltage === 2.987)?.units).toEqual({ voltage: 'V' });
    });
  });
});
