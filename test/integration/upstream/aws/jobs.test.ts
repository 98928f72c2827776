import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/logger.js';
import type { CommandResult } from '../../../../src/model.js';
import { AwsUpstream } from '../../../../src/upstream/aws/aws-upstream.js';
import { awsConfigFor, memoryFiles, startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';
import { createHarness, type Harness } from '../../../unit/commands/router-harness.js';
import { deferred } from '../../../unit/commands/fake-devices.js';

const live = (): AbortSignal => new AbortController().signal;
const SWITCH = 'sim:switch-01';

describe('AwsUpstream running IoT Jobs through the command router', () => {
  let cloud: TestCloud;
  let harness: Harness;
  let upstreams: AwsUpstream[];

  /** An upstream with jobs on, wired to the router the way the daemon wires them. */
  const startUpstream = async (): Promise<AwsUpstream> => {
    const upstream = new AwsUpstream({
      config: awsConfigFor(cloud, { jobs: { enabled: true } }),
      gatewayId: 'gw-1',
      route: 'aws',
      log: silentLogger(),
      readFile: memoryFiles(await cloud.emulator.mintDevice('gw-1'), cloud.emulator.ca),
    });
    upstream.onCommand((incoming) => void harness.router.submit(incoming, { route: 'aws', origin: 'aws' }));
    upstreams.push(upstream);
    await upstream.connect(live());
    return upstream;
  };
  const waitForConnect = async (): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await startUpstream();
        return;
      } catch (e) {
        await upstreams.pop()?.close();
        if (attempt >= 5) throw e;
        // Each refused attempt restarts the emulator’s one-second window, as IoT Core’s does.
        await new Promise((resolve) => setTimeout(resolve, 1100));
      }
    }
  };
  const current = (): AwsUpstream => upstreams.at(-1)!;
  const execution = (jobId: string) => cloud.emulator.jobs.execution('gw-1', jobId);
  const settled = async (jobId: string): Promise<ReturnType<typeof execution>> => {
    await waitFor(
      () => !['QUEUED', 'IN_PROGRESS', undefined].includes(execution(jobId)?.status),
      `job ${jobId} to end`,
    );
    return execution(jobId);
  };
  const startNexts = (): number =>
    cloud.messages.filter((m) => m.topic === '$aws/things/gw-1/jobs/start-next').length;
  const commandJob = (extra: Record<string, unknown> = {}) => ({
    operation: 'fieldgate.command',
    device: SWITCH,
    name: 'toggle',
    ...extra,
  });

  beforeEach(async () => {
    cloud = await startTestCloud();
    upstreams = [];
    harness = createHarness({
      publishResult: (address, result: CommandResult) => current().publishResult(address, result),
    });
    harness.devices.add(SWITCH);
    await harness.router.start();
  });
  afterEach(async () => {
    await harness.router.stop();
    for (const upstream of upstreams) await upstream.close();
    await cloud.close();
  });

  it('runs a command job once and ends it SUCCEEDED, then takes the next job announced on notify-next', async () => {
    await startUpstream();
    cloud.emulator.jobs.createJob('gw-1', 'job-1', commandJob({ name: 'set', args: { level: 40 } }));
    expect(await settled('job-1')).toMatchObject({ status: 'SUCCEEDED', statusDetails: { result: 'ok' } });
    expect(harness.devices.executed).toMatchObject([{ device: SWITCH, name: 'set', args: { level: 40 } }]);

    cloud.emulator.jobs.createJob('gw-1', 'job-2', commandJob());
    expect((await settled('job-2'))?.status).toBe('SUCCEEDED');
    expect(harness.devices.executed).toHaveLength(2);
  });

  it('ends a job FAILED with the device’s reason when the command fails', async () => {
    harness.devices.respond = (cmd) =>
      Promise.resolve({ id: cmd.id, status: 'failed', detail: 'relay stuck' });
    await startUpstream();
    cloud.emulator.jobs.createJob('gw-1', 'job-1', commandJob());
    expect(await settled('job-1')).toMatchObject({
      status: 'FAILED',
      statusDetails: { result: 'failed', detail: 'relay stuck' },
    });
  });

  it('rejects an expired job without executing it', async () => {
    await startUpstream();
    cloud.emulator.jobs.createJob('gw-1', 'old', commandJob({ expiresAt: Date.now() - 1000 }));
    expect(await settled('old')).toMatchObject({ status: 'REJECTED', statusDetails: { result: 'expired' } });
    expect(harness.devices.executed).toEqual([]);
  });

  it('rejects malformed documents and unknown operations with a reason, and keeps running jobs', async () => {
    await startUpstream();
    cloud.emulator.jobs.createJob('gw-1', 'no-device', { operation: 'fieldgate.command', name: 'toggle' });
    cloud.emulator.jobs.createJob('gw-1', 'unknown-op', { operation: 'firmware.update', url: 'x' });
    cloud.emulator.jobs.createJob('gw-1', 'unknown-device', commandJob({ device: 'sim:nope' }));
    cloud.emulator.jobs.createJob('gw-1', 'good', commandJob());
    expect(await settled('no-device')).toMatchObject({
      status: 'REJECTED',
      statusDetails: { detail: '"device" must be a non-empty string' },
    });
    expect((await settled('unknown-op'))?.statusDetails.detail).toMatch(
      /unknown operation "firmware.update"/,
    );
    expect((await settled('unknown-device'))?.statusDetails.detail).toMatch(/unknown device/);
    expect((await settled('good'))?.status).toBe('SUCCEEDED');
    expect(current().isConnected).toBe(true);
    expect(harness.devices.executedIds()).toHaveLength(1);
  });

  it('resumes an IN_PROGRESS job after a reconnect without running its command twice', async () => {
    const release = deferred<CommandResult>();
    harness.devices.respond = () => release.promise;
    const upstream = await startUpstream();
    cloud.emulator.jobs.createJob('gw-1', 'slow', commandJob());
    await waitFor(() => harness.devices.executed.length === 1, 'the command to start');
    // A new connection: start-next hands the IN_PROGRESS execution out again.
    const before = startNexts();
    await upstream.connect(live());
    await waitFor(() => startNexts() > before, 'start-next on the new connection');
    release.resolve({ id: harness.devices.executed[0]!.id, status: 'ok' });
    expect((await settled('slow'))?.status).toBe('SUCCEEDED');
    expect(harness.devices.executed).toHaveLength(1);
  });

  it('after a restart of the upstream, leaves a command the router still holds to the router', async () => {
    const release = deferred<CommandResult>();
    harness.devices.respond = () => release.promise;
    const first = await startUpstream();
    cloud.emulator.jobs.createJob('gw-1', 'slow', commandJob());
    await waitFor(() => harness.devices.executed.length === 1, 'the command to start');
    const before = startNexts();
    await first.close();
    // A fresh upstream knows nothing of the job; it resubmits under the same command id. IoT Core
    // refuses a second CONNECT within a second, so the new instance retries like the forwarder would.
    await waitForConnect();
    await waitFor(() => startNexts() > before, 'start-next from the new upstream');
    release.resolve({ id: harness.devices.executed[0]!.id, status: 'ok' });
    expect((await settled('slow'))?.status).toBe('SUCCEEDED');
    expect(harness.devices.executed).toHaveLength(1);
  });
});
