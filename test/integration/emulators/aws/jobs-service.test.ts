import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type MqttClient } from 'mqtt';
import { startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

const JOBS = '$aws/things/gw-1/jobs';
type Body = Record<string, unknown>;

describe('the emulator Jobs service', () => {
  let cloud: TestCloud;
  let client: MqttClient;
  let received: { topic: string; body: Body }[];

  const on = (suffix: string): Body[] =>
    received.filter((m) => m.topic === `${JOBS}/${suffix}`).map((m) => m.body);
  const request = async (suffix: string, body: unknown): Promise<void> => {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    await client.publishAsync(`${JOBS}/${suffix}`, payload, { qos: 1 });
  };
  /** Send a request and wait for its one response, matched by client token. */
  const ask = async (suffix: string, body: Body, token: string): Promise<{ topic: string; body: Body }> => {
    await request(suffix, { ...body, clientToken: token });
    await waitFor(() => received.some((m) => m.body.clientToken === token), `a response to ${token}`);
    const responses = received.filter((m) => m.body.clientToken === token);
    expect(responses).toHaveLength(1);
    return responses[0]!;
  };

  beforeEach(async () => {
    cloud = await startTestCloud({ jobsMinuteMs: 200 });
    const device = await cloud.emulator.mintDevice('gw-1');
    client = connect({
      host: '127.0.0.1',
      port: cloud.emulator.mqttPort,
      servername: 'localhost',
      cert: device.certPem,
      key: device.keyPem,
      ca: cloud.emulator.ca.certPem,
      protocol: 'mqtts',
      clientId: 'gw-1',
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    received = [];
    client.on('message', (topic, payload) =>
      received.push({ topic, body: JSON.parse(payload.toString()) as Body }),
    );
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  });
  afterEach(async () => {
    client.end(true);
    await cloud.close();
  });

  it('answers a requester that never subscribed, exactly once, echoing the client token', async () => {
    cloud.emulator.jobs.createJob('gw-1', 'job-1', { operation: 'x' });
    const reply = await ask('get', {}, 'no-sub');
    expect(reply.topic).toBe(`${JOBS}/get/accepted`);
    expect(reply.body).toMatchObject({
      inProgressJobs: [],
      queuedJobs: [{ jobId: 'job-1', versionNumber: 1 }],
    });
    // Subscribed now: the response arrives through the subscription, still only once.
    await client.subscribeAsync(`${JOBS}/get/accepted`, { qos: 1 });
    await ask('get', {}, 'with-sub');
  });

  it('runs QUEUED → IN_PROGRESS → SUCCEEDED with notify and notify-next along the way', async () => {
    await client.subscribeAsync([`${JOBS}/notify`, `${JOBS}/notify-next`], { qos: 1 });
    cloud.emulator.jobs.createJob('gw-1', 'job-1', { operation: 'first' });
    cloud.emulator.jobs.createJob('gw-1', 'job-2', { operation: 'second' });
    await waitFor(() => on('notify').length === 2, 'two notify messages');
    expect(on('notify')[1]).toMatchObject({ jobs: { QUEUED: [{ jobId: 'job-1' }, { jobId: 'job-2' }] } });
    expect(on('notify-next')).toHaveLength(1);
    expect(on('notify-next')[0]).toMatchObject({ execution: { jobId: 'job-1', status: 'QUEUED' } });

    const started = await ask('start-next', { statusDetails: { step: 'one' } }, 's1');
    expect(started.body).toMatchObject({
      execution: {
        jobId: 'job-1',
        thingName: 'gw-1',
        jobDocument: { operation: 'first' },
        status: 'IN_PROGRESS',
        statusDetails: { step: 'one' },
        versionNumber: 2,
        executionNumber: 1,
      },
    });
    // start-next again hands out the same IN_PROGRESS execution: the device resumes it.
    const again = await ask('start-next', {}, 's2');
    expect(again.body).toMatchObject({ execution: { jobId: 'job-1', versionNumber: 2 } });

    const done = await ask(
      'job-1/update',
      { status: 'SUCCEEDED', expectedVersion: 2, includeJobExecutionState: true },
      'u1',
    );
    expect(done.topic).toBe(`${JOBS}/job-1/update/accepted`);
    expect(done.body).toMatchObject({ executionState: { status: 'SUCCEEDED', versionNumber: 3 } });
    expect(cloud.emulator.jobs.execution('gw-1', 'job-1')?.status).toBe('SUCCEEDED');
    await waitFor(() => on('notify-next').length === 2, 'notify-next for job-2');
    expect(on('notify-next')[1]).toMatchObject({ execution: { jobId: 'job-2', status: 'QUEUED' } });

    const describeNext = await ask('$next/get', {}, 'd1');
    expect(describeNext.body).toMatchObject({
      execution: { jobId: 'job-2', jobDocument: { operation: 'second' } },
    });
  });

  it('rejects with the documented codes and the execution state where AWS includes it', async () => {
    cloud.emulator.jobs.createJob('gw-1', 'job-1', { operation: 'x' });
    await ask('start-next', {}, 'start');

    const stale = await ask('job-1/update', { status: 'SUCCEEDED', expectedVersion: 1 }, 'stale');
    expect(stale.topic).toBe(`${JOBS}/job-1/update/rejected`);
    expect(stale.body).toMatchObject({
      code: 'VersionMismatch',
      executionState: { status: 'IN_PROGRESS', versionNumber: 2 },
    });
    const badStatus = await ask('job-1/update', { status: 'TIMED_OUT' }, 'bad-status');
    expect(badStatus.body).toMatchObject({ code: 'InvalidRequest' });
    const badDetails = await ask(
      'job-1/update',
      { status: 'FAILED', statusDetails: { n: 1 } },
      'bad-details',
    );
    expect(badDetails.body).toMatchObject({ code: 'InvalidRequest' });
    const missing = await ask('job-9/update', { status: 'SUCCEEDED' }, 'missing');
    expect(missing.body).toMatchObject({ code: 'ResourceNotFound' });
    const unknownApi = await ask('job-1/frobnicate', {}, 'topic');
    expect(unknownApi.topic).toBe(`${JOBS}/job-1/frobnicate/rejected`);
    expect(unknownApi.body).toMatchObject({ code: 'InvalidTopic' });

    await ask('job-1/update', { status: 'FAILED', statusDetails: { reason: 'no' } }, 'fail');
    const late = await ask('job-1/update', { status: 'IN_PROGRESS' }, 'late');
    expect(late.body).toMatchObject({
      code: 'InvalidStateTransition',
      executionState: { status: 'FAILED', statusDetails: { reason: 'no' } },
    });
    expect(cloud.emulator.jobs.execution('gw-1', 'job-1')?.status).toBe('FAILED');

    await request('get', 'not json');
    await waitFor(() => on('get/rejected').length === 1, 'InvalidJson');
    expect(on('get/rejected')[0]).toMatchObject({ code: 'InvalidJson' });
  });

  it('times an IN_PROGRESS execution out after its step timeout, and refuses updates afterwards', async () => {
    await client.subscribeAsync(`${JOBS}/notify`, { qos: 1 });
    cloud.emulator.jobs.createJob('gw-1', 'slow', { operation: 'x' });
    // One emulated minute is 200 ms in this test.
    await ask('start-next', { stepTimeoutInMinutes: 1 }, 'start');
    await waitFor(() => cloud.emulator.jobs.execution('gw-1', 'slow')?.status === 'TIMED_OUT', 'TIMED_OUT');
    await waitFor(
      () => on('notify').some((n) => JSON.stringify(n.jobs) === '{"IN_PROGRESS":[],"QUEUED":[]}'),
      'empty list',
    );
    const late = await ask('slow/update', { status: 'SUCCEEDED' }, 'late');
    expect(late.body).toMatchObject({
      code: 'InvalidStateTransition',
      executionState: { status: 'TIMED_OUT' },
    });
  });

  it('answers start-next with no execution when nothing is pending', async () => {
    const reply = await ask('start-next', {}, 'empty');
    expect(reply.topic).toBe(`${JOBS}/start-next/accepted`);
    expect(reply.body.execution).toBeUndefined();
  });
});
