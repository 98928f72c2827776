import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBatch } from '../../../src/upstream/mqtt/encode.js';
import { startTestCloud, type TestCloud } from '../../fakes/aws-cloud.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';

type Work = Awaited<ReturnType<typeof makeWorkdir>>;

/**
 * An IoT Job for the gateway thing `it`, end to end: the cloud creates it, the daemon's upstream takes it
 * with start-next, the command router runs it on the sim device, and the device's result ends the job
 * execution SUCCEEDED or FAILED.
 */
describe('the daemon running AWS IoT Jobs from the IoT Core emulator', () => {
  let work: Work;
  let cloud: TestCloud;
  let daemon: Daemon;

  const status = (jobId: string) => cloud.emulator.jobs.execution('it', jobId)?.status;
  const readingsOf = (id: string) =>
    cloud.messages
      .filter((m) => m.topic === `dt/fieldgate/it/${id}`)
      .flatMap((m) => decodeBatch(m.payload).readings);

  beforeAll(async () => {
    work = await makeWorkdir();
    cloud = await startTestCloud();
    const pair = await cloud.emulator.mintDevice('it');
    const file = (name: string) => path.join(work.dir, name);
    await writeFile(file('it.crt'), pair.certPem);
    await writeFile(file('it.key'), pair.keyPem, { mode: 0o600 });
    await writeFile(file('ca.crt'), cloud.emulator.ca.certPem);
    const config = testConfig(work.dir, 0, {
      routes: {
        aws: {
          upstream: {
            type: 'aws',
            endpoint: '127.0.0.1',
            port: cloud.emulator.mqttPort,
            servername: 'localhost',
            tls: { certFile: file('it.crt'), keyFile: file('it.key'), caFile: file('ca.crt') },
            ackTimeoutMs: 2000,
            jobs: { enabled: true },
            shadows: { mode: 'off' },
          },
          batch: { maxItems: 200 },
          backoff: { initialMs: 100, maxMs: 500 },
        },
      },
    });
    daemon = await Daemon.start(work.dir, config);
    await waitFor(() => readingsOf('sim:switch-01').length > 0, 'the switch’s first readings');
  });
  afterAll(async () => {
    await daemon.stop();
    await cloud.close();
    await work.cleanup();
  });

  it('runs a fieldgate.command job: the switch goes on and the execution ends SUCCEEDED', async () => {
    cloud.emulator.jobs.createJob('it', 'switch-on', {
      operation: 'fieldgate.command',
      device: 'sim:switch-01',
      name: 'on',
    });
    await waitFor(() => status('switch-on') === 'SUCCEEDED', 'the job to succeed');
    expect(cloud.emulator.jobs.execution('it', 'switch-on')?.statusDetails).toMatchObject({ result: 'ok' });
    await waitFor(
      () => readingsOf('sim:switch-01').some((r) => r.values.state === true),
      'the switch to report on in its telemetry',
    );
    // The outcome went into the job execution, not onto a command response topic.
    expect(cloud.messages.some((m) => m.topic.startsWith('cmd/fieldgate/it/sim:switch-01/res'))).toBe(false);
    expect(cloud.emulator.broker.refusals()).toEqual([]);
  });

  it('ends a job for a device the gateway does not have REJECTED, and runs the next one', async () => {
    cloud.emulator.jobs.createJob('it', 'ghost', {
      operation: 'fieldgate.command',
      device: 'sim:nope',
      name: 'on',
    });
    cloud.emulator.jobs.createJob('it', 'switch-off', {
      operation: 'fieldgate.command',
      device: 'sim:switch-01',
      name: 'off',
    });
    await waitFor(() => status('switch-off') === 'SUCCEEDED', 'the second job to succeed');
    expect(status('ghost')).toBe('REJECTED');
    expect(cloud.emulator.jobs.execution('it', 'ghost')?.statusDetails).toMatchObject({ result: 'rejected' });
    await waitFor(
      () => readingsOf('sim:switch-01').at(-1)?.values.state === false,
      'the switch to report off again',
    );
  });
});
