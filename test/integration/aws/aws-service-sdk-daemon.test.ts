import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GetThingShadowCommand,
  IoTDataPlaneClient,
  PublishCommand,
  UpdateThingShadowCommand,
} from '@aws-sdk/client-iot-data-plane';
import { CreateJobCommand, DescribeJobExecutionCommand, IoTClient } from '@aws-sdk/client-iot';
import {
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  EMULATOR_SERVICE_CREDENTIALS,
} from '../../../emulators/aws/index.js';
import { waitFor } from '../support/daemon.js';
import { AwsWorld, THING } from './aws-fixture.js';

type ShadowDocument = {
  state?: {
    reported?: Record<string, unknown>;
    desired?: Record<string, unknown>;
    delta?: Record<string, unknown>;
  };
  version?: number;
};

/**
 * Official SDKs on both ends, fieldgate in the middle: a service app using AWS's own
 * `@aws-sdk/client-iot-data-plane` and `@aws-sdk/client-iot` (SigV4 over HTTPS) talks to the IoT Core
 * emulator, the fieldgate daemon (a real process, AWS route over mutual TLS) carries it to the sim leaf,
 * and the outcome is read back through the same SDKs.
 */
describe('a service app on the AWS SDK driving a leaf through the fieldgate daemon', () => {
  let world: AwsWorld;
  let data: IoTDataPlaneClient;
  let iot: IoTClient;

  // Polled by the waits below: at most 4 reads a second, so the test's own reads stay well inside the
  // 20 shadow requests per second per thing that IoT Core (and the emulator) allow beside the gateway's.
  const shadow = async (device: string): Promise<ShadowDocument | undefined> => {
    await new Promise((resolve) => setTimeout(resolve, 250));
    try {
      const got = await data.send(new GetThingShadowCommand({ thingName: THING, shadowName: device }));
      return JSON.parse(Buffer.from(got.payload ?? []).toString()) as ShadowDocument;
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return undefined;
      // Throttled beside the gateway's own shadow traffic on a loaded machine: read again at the next poll.
      if ((e as Error).name === 'ThrottlingException') return undefined;
      throw e;
    }
  };

  beforeAll(async () => {
    world = await AwsWorld.create({ serviceApi: true });
    const config = {
      endpoint: `https://127.0.0.1:${world.cloud.emulator.dataPort}`,
      region: EMULATOR_REGION,
      credentials: EMULATOR_SERVICE_CREDENTIALS,
      requestHandler: { httpsAgent: new Agent({ ca: world.cloud.emulator.ca.certPem }) },
    };
    data = new IoTDataPlaneClient(config);
    iot = new IoTClient(config);
    await world.startDaemon({
      jobs: { enabled: true },
      shadows: { minIntervalMs: 200, desired: { state: { values: { true: 'on', false: 'off' } } } },
    });
    await waitFor(
      async () => (await shadow('sim:switch-01'))?.state?.reported?.availability === 'online',
      'the switch’s shadow, read with GetThingShadow',
    );
  });
  afterAll(async () => {
    data?.destroy();
    iot?.destroy();
    await world.close();
  });

  it('UpdateThingShadow desired → daemon → leaf → reported, read back with GetThingShadow', async () => {
    expect((await shadow('sim:switch-01'))?.state?.reported?.state).toBe(false);
    await data.send(
      new UpdateThingShadowCommand({
        thingName: THING,
        shadowName: 'sim:switch-01',
        payload: Buffer.from(JSON.stringify({ state: { desired: { state: true } } })),
      }),
    );
    await waitFor(async () => {
      const document = await shadow('sim:switch-01');
      return document?.state?.reported?.state === true && document.state.delta === undefined;
    }, 'reported on and no delta, through GetThingShadow');
    // The leaf really switched: its own readings say so.
    await waitFor(
      () => world.readingsOf('sim:switch-01').some((r) => r.values.state === true),
      'the switch to report on in its telemetry',
    );
  });

  it('Publish to the command topic → daemon → leaf → one response, and the shadow follows', async () => {
    await data.send(
      new PublishCommand({
        topic: `cmd/fieldgate/${THING}/sim:switch-01/req`,
        qos: 1,
        payload: Buffer.from(JSON.stringify({ id: 'svc-off-1', name: 'off' })),
      }),
    );
    const responses = () =>
      world.cloud.messages
        .filter((m) => m.topic === `cmd/fieldgate/${THING}/sim:switch-01/res`)
        .map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>);
    await waitFor(() => responses().length > 0, 'the command response');
    expect(responses()).toMatchObject([{ id: 'svc-off-1', status: 'ok' }]);
    await waitFor(
      async () => (await shadow('sim:switch-01'))?.state?.reported?.state === false,
      'reported off, through GetThingShadow',
    );
  });

  it('CreateJob → daemon runs it on the leaf → DescribeJobExecution says SUCCEEDED', async () => {
    await iot.send(
      new CreateJobCommand({
        jobId: 'svc-switch-on',
        targets: [`arn:aws:iot:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:thing/${THING}`],
        document: JSON.stringify({ operation: 'fieldgate.command', device: 'sim:switch-01', name: 'on' }),
      }),
    );
    const execution = async () =>
      (await iot.send(new DescribeJobExecutionCommand({ thingName: THING, jobId: 'svc-switch-on' })))
        .execution;
    await waitFor(async () => (await execution())?.status === 'SUCCEEDED', 'the job execution to succeed');
    expect((await execution())?.statusDetails?.detailsMap).toMatchObject({ result: 'ok' });
    await waitFor(
      async () => (await shadow('sim:switch-01'))?.state?.reported?.state === true,
      'reported on again, through GetThingShadow',
    );
    expect(world.cloud.emulator.broker.discarded(THING)).toEqual({ inbound: 0, outbound: 0 });
    expect(world.cloud.emulator.broker.refusals()).toEqual([]);
  });
});
