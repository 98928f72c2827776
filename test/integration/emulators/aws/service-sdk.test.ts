import { Agent } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  GetThingShadowCommand,
  IoTDataPlaneClient,
  PublishCommand,
  ResourceNotFoundException,
  UpdateThingShadowCommand,
  InvalidRequestException,
} from '@aws-sdk/client-iot-data-plane';
import { CreateJobCommand, DescribeJobExecutionCommand, IoTClient } from '@aws-sdk/client-iot';
import {
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  EMULATOR_SERVICE_CREDENTIALS,
} from '../../../../emulators/aws/index.js';
import { startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

/**
 * The emulator's service APIs driven by AWS's own SDKs (`@aws-sdk/client-iot-data-plane`,
 * `@aws-sdk/client-iot`), signed with SigV4 over HTTPS with the emulator's CA.
 */
describe('the IoT Core emulator driven by the official AWS service SDKs', () => {
  let cloud: TestCloud;
  const sdkConfig = (
    credentials: { accessKeyId: string; secretAccessKey: string } = EMULATOR_SERVICE_CREDENTIALS,
  ) => ({
    endpoint: `https://127.0.0.1:${cloud.emulator.dataPort}`,
    region: EMULATOR_REGION,
    credentials,
    requestHandler: { httpsAgent: new Agent({ ca: cloud.emulator.ca.certPem }) },
    maxAttempts: 1,
  });
  const data = () => new IoTDataPlaneClient(sdkConfig());
  const text = (payload: Uint8Array | undefined) =>
    JSON.parse(Buffer.from(payload ?? []).toString()) as Record<string, unknown>;

  beforeEach(async () => {
    cloud = await startTestCloud({ serviceApi: true });
    cloud.emulator.registry.putThing('gw-1');
  });
  afterEach(async () => {
    await cloud.close();
  });

  it('updates and reads a named shadow, with the delta devices get', async () => {
    const client = data();
    const updated = await client.send(
      new UpdateThingShadowCommand({
        thingName: 'gw-1',
        shadowName: 'sim:switch-01',
        payload: Buffer.from(JSON.stringify({ state: { desired: { state: true } }, clientToken: 'app-1' })),
      }),
    );
    expect(text(updated.payload)).toMatchObject({
      state: { desired: { state: true } },
      version: 1,
      clientToken: 'app-1',
    });
    await waitFor(
      () => cloud.messages.some((m) => m.topic === '$aws/things/gw-1/shadow/name/sim:switch-01/update/delta'),
      'the delta on the device topic',
    );
    const got = await client.send(
      new GetThingShadowCommand({ thingName: 'gw-1', shadowName: 'sim:switch-01' }),
    );
    expect(text(got.payload)).toMatchObject({
      state: { desired: { state: true }, delta: { state: true } },
      version: 1,
    });
    expect(cloud.emulator.meter.read().shadowOperations).toBe(2);
  });

  it('answers the SDK’s exceptions: ResourceNotFound for a missing shadow, InvalidRequest for a bad name', async () => {
    const client = data();
    await expect(
      client.send(new GetThingShadowCommand({ thingName: 'gw-1', shadowName: 'none' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(
        new UpdateThingShadowCommand({
          thingName: 'gw-1',
          shadowName: 'bad.name',
          payload: Buffer.from(JSON.stringify({ state: { desired: { a: 1 } } })),
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('publishes to a device topic', async () => {
    await data().send(
      new PublishCommand({
        topic: 'cmd/fieldgate/gw-1/sim:switch-01/req',
        qos: 1,
        payload: Buffer.from('{"id":"c1"}'),
      }),
    );
    await waitFor(
      () => cloud.messages.some((m) => m.topic === 'cmd/fieldgate/gw-1/sim:switch-01/req'),
      'the publish',
    );
    expect(cloud.messages.find((m) => m.topic.endsWith('/req'))?.payload.toString()).toBe('{"id":"c1"}');
  });

  it('refuses a request signed with an unknown key or a wrong secret', async () => {
    for (const credentials of [
      { accessKeyId: 'AKIDNOBODY', secretAccessKey: EMULATOR_SERVICE_CREDENTIALS.secretAccessKey },
      { accessKeyId: EMULATOR_SERVICE_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' },
    ]) {
      const client = new IoTDataPlaneClient(sdkConfig(credentials));
      await expect(client.send(new GetThingShadowCommand({ thingName: 'gw-1' }))).rejects.toMatchObject({
        name: 'ForbiddenException',
        $metadata: { httpStatusCode: 403 },
      });
    }
  });

  it('creates a job for a thing and describes its execution', async () => {
    const iot = new IoTClient(sdkConfig());
    const created = await iot.send(
      new CreateJobCommand({
        jobId: 'switch-on',
        targets: [`arn:aws:iot:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:thing/gw-1`],
        document: JSON.stringify({ operation: 'fieldgate.command', device: 'sim:switch-01', name: 'on' }),
      }),
    );
    expect(created).toMatchObject({
      jobId: 'switch-on',
      jobArn: expect.stringMatching(/:job\/switch-on$/) as string,
    });
    const described = await iot.send(
      new DescribeJobExecutionCommand({ thingName: 'gw-1', jobId: 'switch-on' }),
    );
    expect(described.execution).toMatchObject({ jobId: 'switch-on', status: 'QUEUED', versionNumber: 1 });
    expect(described.execution?.queuedAt).toBeInstanceOf(Date);
  });
});
