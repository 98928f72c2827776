import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Adapter } from '../../adapters/adapter.js';
import type { CommandResult, DeviceCommand } from '../../src/model.js';
import type { RecordingContext } from '../fakes/recording-context.js';

export interface AdapterUnderTest {
  /** Built from its options; not started. */
  adapter: Adapter;
  ctx: RecordingContext;
  /** Resolves once the adapter has started and its radio is open (the fake sees it). */
  started(): Promise<void>;
  /** True while the fake radio still sees the adapter: a port or socket open, a scan running. */
  isRadioOpen(): boolean;
  /** Makes the radio produce traffic that a running adapter turns into a reading or a device event. */
  stimulate(): void | Promise<void>;
  /** Releases the fake radio and temp files. */
  dispose(): Promise<void>;
}

export type AdapterFactory = () => Promise<AdapterUnderTest>;

const RESULT_STATUSES = ['ok', 'failed', 'rejected', 'unsupported', 'expired', 'timeout'];

/**
 * The `Adapter` contract (docs/architecture.md#adapter), run against every radio with its fake: `start` and
 * `stop` may be repeated, `execute` answers every command with a result instead of throwing, `stop` releases
 * the radio, and nothing reaches the gateway after `stop`.
 */
export function adapterContract(name: string, factory: AdapterFactory): void {
  describe(`${name} (Adapter contract)`, () => {
    let under: AdapterUnderTest;
    beforeEach(async () => {
      under = await factory();
    });
    afterEach(async () => {
      await under.adapter.stop();
      await under.dispose();
    });

    const command = (device: string, name: string, args: Record<string, unknown> = {}): DeviceCommand => ({
      id: `contract-${name}`,
      device,
      name,
      args,
      origin: 'local',
    });

    it('resolves stop before start, and a second stop', async () => {
      await expect(under.adapter.stop()).resolves.toBeUndefined();
      await expect(under.adapter.stop()).resolves.toBeUndefined();
    });

    it('starts, stops, and stops again without throwing; the radio is released', async () => {
      await under.adapter.start(under.ctx);
      await under.started();
      expect(under.isRadioOpen()).toBe(true);
      await under.adapter.stop();
      expect(under.isRadioOpen()).toBe(false);
      expect(under.ctx.state).toBe('stopped');
      await expect(under.adapter.stop()).resolves.toBeUndefined();
      expect(under.ctx.state).toBe('stopped');
    });

    it('answers a command for an unknown device, an unknown command and bad arguments with a result', async () => {
      await under.adapter.start(under.ctx);
      await under.started();
      const signal = new AbortController().signal;
      const known = under.adapter.devices()[0]?.id ?? `${under.ctx.name}:none`;
      const commands = [
        command(`${under.ctx.name}:no-such-device`, 'on'),
        command('other:device', 'on'),
        command(known, 'noSuchCommand'),
        command(known, 'setInterval', { seconds: 'soon' }),
        command(known, 'on', { brightness: { nested: [1, 2] } }),
      ];
      for (const cmd of commands) {
        const result: CommandResult = await under.adapter.execute(cmd, signal);
        expect(result.id, cmd.name).toBe(cmd.id);
        expect(RESULT_STATUSES, `${cmd.device} ${cmd.name}`).toContain(result.status);
      }
      const unknown = await under.adapter.execute(command(`${under.ctx.name}:no-such-device`, 'on'), signal);
      expect(unknown.status).toBe('rejected');
    });

    it('answers a command after stop with a result', async () => {
      await under.adapter.start(under.ctx);
      await under.started();
      await under.adapter.stop();
      const known = under.adapter.devices()[0]?.id ?? `${under.ctx.name}:none`;
      const result = await under.adapter.execute(command(known, 'on'), new AbortController().signal);
      expect(RESULT_STATUSES).toContain(result.status);
    });

    it('emits nothing after stop', async () => {
      await under.adapter.start(under.ctx);
      await under.started();
      await under.stimulate();
      await under.adapter.stop();
      const seen = {
        readings: under.ctx.readings.length,
        devices: JSON.stringify([...under.ctx.devices.values()]),
        removed: under.ctx.removed.length,
        awakened: under.ctx.awakened.length,
        statuses: under.ctx.statuses.length,
      };
      await under.stimulate();
      // Absence can only be shown by waiting: long enough for timers, reopen attempts and in-flight frames
      // of a running adapter to have landed.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect({
        readings: under.ctx.readings.length,
        devices: JSON.stringify([...under.ctx.devices.values()]),
        removed: under.ctx.removed.length,
        awakened: under.ctx.awakened.length,
        statuses: under.ctx.statuses.length,
      }).toEqual(seen);
    });
  });
}
