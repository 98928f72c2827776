import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../../src/control/client.js';
import type { DeviceInfo } from '../../../src/model.js';
import { waitFor } from '../support/daemon.js';
import { AwsWorld } from './aws-fixture.js';

type Shadow = { state?: { reported?: Record<string, unknown>; delta?: Record<string, unknown> } };

/**
 * The whole path of a shadow `desired` change: the cloud sets it, IoT Core's delta reaches the daemon, the
 * command router runs it on the sim device (holding it for a sleeping one), and the outcome comes back as
 * `reported`, which clears the delta. Named shadows on the gateway thing `it`, one per leaf.
 */
describe('the daemon keeping device shadows in the AWS IoT Core emulator', () => {
  let world: AwsWorld;

  const shadow = (device: string): Shadow | undefined => world.cloud.emulator.shadows.document('it', device);
  const reported = (device: string) => shadow(device)?.state?.reported;
  const device = (id: string) =>
    controlRequest<DeviceInfo>(world.daemon!.socket, 'GET', `/v1/devices/${encodeURIComponent(id)}`);
  const readingsOf = (id: string) => world.readingsOf(id);

  beforeAll(async () => {
    world = await AwsWorld.create();
    await world.startDaemon({
      shadows: {
        minIntervalMs: 200,
        desired: {
          state: { values: { true: 'on', false: 'off' } },
          wakeIntervalS: { command: 'setInterval', arg: 'seconds' },
        },
      },
    });
    await waitFor(
      () => reported('sim:switch-01') !== undefined && reported('sim:sleepy-01') !== undefined,
      'the switch and the sleepy sensor to have shadows',
    );
  });
  afterAll(async () => {
    await world.close();
  });

  it('reports readings and availability in each leaf’s named shadow', async () => {
    await waitFor(() => reported('sim:switch-01')?.availability === 'online', 'the switch online');
    expect(reported('sim:switch-01')?.state).toBe(false);
    expect(typeof reported('sim:switch-01')?.power).toBe('number');
    // The sleepy sensor is seen both ways as it wakes and sleeps.
    await waitFor(() => reported('sim:sleepy-01')?.availability === 'asleep', 'the sensor asleep');
    await waitFor(() => reported('sim:sleepy-01')?.availability === 'online', 'the sensor awake');
    for (const field of ['temperature', 'battery', 'availabilityChangedAt']) {
      expect(typeof reported('sim:sleepy-01')?.[field]).toBe('number');
    }
    expect(world.cloud.emulator.broker.refusals()).toEqual([]);
    expect(world.cloud.emulator.shadows.requests().filter((r) => r.code === 429)).toEqual([]);
  });

  it('switches the switch on when desired says so, and the delta clears', async () => {
    const outcome = world.cloud.emulator.shadows.update('it', 'sim:switch-01', {
      state: { desired: { state: true } },
    });
    expect(outcome).toHaveProperty('body.version');
    await waitFor(
      () => readingsOf('sim:switch-01').some((r) => r.values.state === true),
      'the switch to report on in its telemetry',
    );
    await waitFor(
      () => reported('sim:switch-01')?.state === true && shadow('sim:switch-01')?.state?.delta === undefined,
      'reported on and no delta',
    );
    expect(reported('sim:switch-01')).not.toHaveProperty('commandErrors.state');
    // The outcome went into the shadow, not onto a command response topic.
    expect(world.cloud.messages.some((m) => m.topic.startsWith('cmd/fieldgate/it/sim:switch-01/res'))).toBe(
      false,
    );
  });

  it('gives a sleeping sensor its desired change when it wakes up', async () => {
    // Set desired while the sensor sleeps: the sim refuses commands to a sleeping device, so only a
    // command held until wake-up can succeed.
    await waitFor(async () => (await device('sim:sleepy-01')).availability === 'asleep', 'sleep');
    world.cloud.emulator.shadows.update('it', 'sim:sleepy-01', { state: { desired: { wakeIntervalS: 20 } } });
    await waitFor(
      () =>
        reported('sim:sleepy-01')?.wakeIntervalS === 20 &&
        shadow('sim:sleepy-01')?.state?.delta === undefined,
      'reported wakeIntervalS 20 and no delta',
    );
    expect(reported('sim:sleepy-01')).not.toHaveProperty('commandErrors.wakeIntervalS');
  });

  it('reports a desired value the device refuses under commandErrors, keeping the delta', async () => {
    world.cloud.emulator.shadows.update('it', 'sim:sleepy-01', { state: { desired: { wakeIntervalS: 1 } } });
    await waitFor(
      () =>
        (reported('sim:sleepy-01')?.commandErrors as Record<string, unknown> | undefined)?.wakeIntervalS !==
        undefined,
      'the refusal in reported.commandErrors',
    );
    expect(reported('sim:sleepy-01')).toMatchObject({
      wakeIntervalS: 20,
      commandErrors: { wakeIntervalS: { status: 'rejected' } },
    });
    expect(JSON.stringify(reported('sim:sleepy-01')?.commandErrors)).toMatch(/seconds.*at least 10/);
    expect(shadow('sim:sleepy-01')?.state?.delta).toEqual({ wakeIntervalS: 1 });
  });
});
