import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/daemon.js';
import { AwsWorld } from './aws-fixture.js';

/**
 * An IoT Job for the gateway thing `it`, end to end: the cloud creates it, the daemon's upstream takes it
 * with start-next, the command router runs it on the sim device, and the device's result ends the job
 * execution SUCCEEDED or FAILED.
 */
describe('the daemon running AWS IoT Jobs from the IoT Core emulator', () => {
  let world: AwsWorld;

  const status = (jobId: string) => world.cloud.emulator.jobs.execution('it', jobId)?.status;
  const readingsOf = (id: string) => world.readingsOf(id);

  beforeAll(async () => {
    world = await AwsWorld.create();
    await world.startDaemon({ jobs: { enabled: true }, shadows: { mode: 'off' } });
    await waitFor(() => readingsOf('sim:switch-01').length > 0, 'the switch’s first readings');
  });
  afterAll(async () => {
    await world.close();
  });

  it('runs a fieldgate.command job: the switch goes on and the execution ends SUCCEEDED', async () => {
    world.cloud.emulator.jobs.createJob('it', 'switch-on', {
      operation: 'fieldgate.command',
      device: 'sim:switch-01',
      name: 'on',
    });
    await waitFor(() => status('switch-on') === 'SUCCEEDED', 'the job to succeed');
    expect(world.cloud.emulator.jobs.execution('it', 'switch-on')?.statusDetails).toMatchObject({
      result: 'ok',
    });
    await waitFor(
      () => readingsOf('sim:switch-01').some((r) => r.values.state === true),
      'the switch to report on in its telemetry',
    );
    // The outcome went into the job execution, not onto a command response topic.
    expect(world.cloud.messages.some((m) => m.topic.startsWith('cmd/fieldgate/it/sim:switch-01/res'))).toBe(
      false,
    );
    expect(world.cloud.emulator.broker.refusals()).toEqual([]);
  });

  it('ends a job for a device the gateway does not have REJECTED, and runs the next one', async () => {
    world.cloud.emulator.jobs.createJob('it', 'ghost', {
      operation: 'fieldgate.command',
      device: 'sim:nope',
      name: 'on',
    });
    world.cloud.emulator.jobs.createJob('it', 'switch-off', {
      operation: 'fieldgate.command',
      device: 'sim:switch-01',
      name: 'off',
    });
    await waitFor(() => status('switch-off') === 'SUCCEEDED', 'the second job to succeed');
    expect(status('ghost')).toBe('REJECTED');
    expect(world.cloud.emulator.jobs.execution('it', 'ghost')?.statusDetails).toMatchObject({
      result: 'rejected',
    });
    await waitFor(
      () => readingsOf('sim:switch-01').at(-1)?.values.state === false,
      'the switch to report off again',
    );
  });
});
