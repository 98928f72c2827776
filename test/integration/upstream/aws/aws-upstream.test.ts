import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../../src/errors.js';
import { silentLogger } from '../../../../src/logger.js';
import type { Envelope } from '../../../../src/model.js';
import type { AwsUpstreamConfig } from '../../../../src/config/upstreams/aws.js';
import {
  createCertificateAuthority,
  fingerprintOf,
  issueCertificate,
  type KeyPair,
} from '../../../../emulators/aws/index.js';
import { AwsUpstream } from '../../../../src/upstream/aws/aws-upstream.js';
import type { IncomingCommand } from '../../../../src/upstream/upstream.js';
import { decodeBatch } from '../../../../src/upstream/common/batch-payload.js';
import { awsConfigFor, memoryFiles, startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

const live = (): AbortSignal => new AbortController().signal;
const envelope = (gseq: number, device = 'sim:thermo-01'): Envelope => ({
  gseq,
  reading: { device, ts: 1_700_000_000_000 + gseq, values: { temperature: 21.5, humidity: 40 } },
});

describe('AwsUpstream against the IoT Core emulator', () => {
  let cloud: TestCloud;
  let device: KeyPair;
  const upstreams: AwsUpstream[] = [];

  const create = (overrides: Partial<AwsUpstreamConfig> = {}, pair = device): AwsUpstream => {
    const upstream = new AwsUpstream({
      config: awsConfigFor(cloud, overrides),
      gatewayId: 'gw-1',
      route: 'aws',
      log: silentLogger(),
      readFile: memoryFiles(pair, cloud.emulator.ca),
    });
    upstreams.push(upstream);
    return upstream;
  };
  const connectError = (upstream: AwsUpstream) =>
    upstream.connect(live()).then(
      () => undefined,
      (e: unknown) => e,
    );

  beforeEach(async () => {
    cloud = await startTestCloud();
    device = await cloud.emulator.mintDevice('gw-1');
  });
  afterEach(async () => {
    await Promise.all(upstreams.splice(0).map((u) => u.close()));
    await cloud.close();
  });

  it('refuses with FG_UPSTREAM_AUTH when the certificate is not active, and says why', async () => {
    cloud.emulator.registry.setCertificateStatus(fingerprintOf(device.certPem), 'INACTIVE');
    const error = await connectError(create());
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
    expect((error as Error).message).toMatch(/registered or active/);
    expect(cloud.emulator.broker.refusals()).toMatchObject([{ clientId: 'gw-1', action: 'connect' }]);
  });

  it('refuses with FG_UPSTREAM_AUTH when the policy denies iot:Connect for the client id', async () => {
    const error = await connectError(create({ thingName: 'someone-else' }));
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
    expect(cloud.emulator.broker.refusals()[0]?.reason).toMatch(/iot:Connect/);
  });

  it('refuses with FG_UPSTREAM_AUTH when the certificate comes from a CA IoT Core does not know', async () => {
    const stranger = await issueCertificate(await createCertificateAuthority('stranger CA (test only)'), {
      commonName: 'gw-1',
      usage: 'client',
    });
    const error = await connectError(create({}, stranger));
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
    expect((error as Error).message).toMatch(/certificate/);
  });

  it('reconnects within IoT Core’s one CONNECT per second per client id', async () => {
    const upstream = create();
    await upstream.connect(live());
    await upstream.connect(live());
    await upstream.connect(live());
    expect(upstream.isConnected).toBe(true);
    expect(cloud.emulator.broker.refusals()).toEqual([]);
  });

  it('reports a takeover by another client with the same thing name as kicked, once', async () => {
    const first = create();
    await first.connect(live());
    const second = create();
    // The emulator, like IoT Core, refuses a second CONNECT for one client id within a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await second.connect(live());
    await waitFor(() => !first.isConnected, 'the first connection to be taken over');
    expect(await first.send([envelope(1)], live())).toMatchObject({ kind: 'retry', kicked: true });
    expect(first.stats().takeovers).toBe(1);
    expect(second.isConnected).toBe(true);
  });

  it('stays within 100 publishes per second and delivers every device topic', async () => {
    const upstream = create();
    await upstream.connect(live());
    const batch = Array.from({ length: 160 }, (_, i) => envelope(i + 1, `sim:thermo-${i}`));
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    const telemetry = () => cloud.messages.filter((m) => m.topic.startsWith('dt/fieldgate/gw-1/'));
    // The PUBACKs came from the broker; the cloud's own subscriber may still be receiving.
    await waitFor(() => telemetry().length >= 160, 'the cloud to receive every device topic');
    expect(telemetry()).toHaveLength(160);
    expect(cloud.emulator.broker.peakPublishRate('gw-1')).toBeLessThanOrEqual(100);
    expect(upstream.stats()).toMatchObject({ messages: 160, telemetryUnits: 160 });
  });

  it('counts what IoT Core meters: messages both ways, PUBACKs, SUBSCRIBEs, CONNECTs and shadow operations', async () => {
    const upstream = create();
    upstream.onCommand((incoming) => {
      if (incoming.kind === 'command') {
        void upstream.publishResult(incoming.command, { id: incoming.command.id, status: 'ok' });
      }
    });
    cloud.emulator.shadows.update('gw-1', 'sim:thermo-1', { state: { desired: { state: true } } });
    await upstream.connect(live());
    const batch = Array.from({ length: 12 }, (_, i) => envelope(i + 1, `sim:thermo-${i % 3}`));
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    await cloud.publish('cmd/fieldgate/gw-1/sim:thermo-2/req', JSON.stringify({ id: 'c1', name: 'ping' }));
    const reported = () =>
      (
        cloud.emulator.shadows.document('gw-1', 'sim:thermo-1') as {
          state?: { reported?: { state?: unknown } };
        }
      )?.state?.reported?.state;
    await waitFor(() => reported() === true, 'the desired change reported');
    await waitFor(() => cloud.messages.some((m) => m.topic.endsWith('/res')), 'the command response');
    // Once the shadows are in step the connection falls quiet, and both counts agree.
    const fromMeter = () => {
      const meter = cloud.emulator.meter.read();
      return {
        billedUnits: meter.messagingUnits,
        operations: {
          connect: meter.connects,
          // Commands and shadows; Jobs are off.
          subscribe: 2,
          publishOut: meter.inboundMessages,
          publishIn: meter.outboundMessages,
          puback: meter.messagingUnitsBy.puback,
          // All but the cloud app's own UpdateThingShadow.
          shadow: meter.shadowOperations - 1,
        },
      };
    };
    const sorted = (counts: { billedUnits: number; operations: Record<string, number> }) =>
      JSON.stringify([counts.billedUnits, Object.entries(counts.operations).sort()]);
    const counted = () => {
      const { billedUnits, operations } = upstream.stats();
      return { billedUnits, operations };
    };
    await waitFor(() => sorted(counted()) === sorted(fromMeter()), 'the gateway’s counts to meet the meter');
    const meter = cloud.emulator.meter.read();
    expect(meter).toMatchObject({ connects: 1, messagingUnitsBy: { connect: 1, subscribe: 2 } });
    // Three shadows written, one of them read first (the other two did not exist yet).
    expect(meter.shadowOperations - 1).toBeGreaterThanOrEqual(4);
  });

  it('fills billing units: a backlog of one device costs a fraction of one message per reading', async () => {
    const upstream = create();
    await upstream.connect(live());
    const batch = Array.from({ length: 1000 }, (_, i) => envelope(i + 1));
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    const received = () =>
      cloud.messages
        .filter((m) => m.topic.startsWith('dt/'))
        .flatMap((m) => decodeBatch(m.payload).readings.map((r) => r.gseq));
    await waitFor(() => received().length >= batch.length, 'the cloud to receive the backlog');
    expect(received()).toEqual(batch.map((e) => e.gseq));
    expect(upstream.stats().billedUnits).toBeLessThan(1000 / 10);
  });

  it('answers a malformed request as invalid and keeps the connection up', async () => {
    const received: IncomingCommand[] = [];
    const upstream = create();
    upstream.onCommand((incoming) => received.push(incoming));
    await upstream.connect(live());
    await cloud.publish('cmd/fieldgate/gw-1/sim:switch-01/req', '{"name":');
    await cloud.publish('cmd/fieldgate/gw-1/sim:switch-01/req', JSON.stringify({ id: 'c1', name: 'on' }));
    await waitFor(() => received.length === 2, 'both requests');
    expect(received[0]).toMatchObject({ kind: 'invalid', device: 'sim:switch-01' });
    expect(received[1]).toMatchObject({ kind: 'command', command: { id: 'c1', origin: 'aws' } });
    expect(upstream.isConnected).toBe(true);
  });

  it('still connects and sends telemetry when the policy refuses the command subscription', async () => {
    const noCommands = await cloud.emulator.mintDevice('gw-1', {
      Statement: [
        { Effect: 'Allow', Action: 'iot:Connect', Resource: 'arn:aws:iot:*:*:client/gw-1' },
        { Effect: 'Allow', Action: 'iot:Publish', Resource: 'arn:aws:iot:*:*:topic/dt/*' },
      ],
    });
    const upstream = create({}, noCommands);
    await upstream.connect(live());
    expect(cloud.emulator.broker.refusals()).toContainEqual(
      expect.objectContaining({ action: 'subscribe', clientId: 'gw-1' }),
    );
    expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'ok' });
  });

  it('publishes telemetry over HTTPS when configured', async () => {
    const upstream = create({ transport: 'https' });
    await upstream.connect(live());
    expect(await upstream.send([envelope(1), envelope(2, 'sim:thermo-02')], live())).toEqual({ kind: 'ok' });
    expect(cloud.emulator.meter.read().httpsMessages).toBe(2);
    await waitFor(() => cloud.messages.length >= 2, 'the cloud to receive both publishes');
    expect(cloud.messages.map((m) => m.topic).sort()).toEqual([
      'dt/fieldgate/gw-1/sim:thermo-01',
      'dt/fieldgate/gw-1/sim:thermo-02',
    ]);
  });

  it('keeps HTTPS telemetry queued (retry) when the policy refuses it', async () => {
    const denied = await cloud.emulator.mintDevice('gw-1', {
      Statement: [{ Effect: 'Allow', Action: 'iot:Publish', Resource: 'arn:aws:iot:*:*:topic/other/*' }],
    });
    const upstream = create({ transport: 'https' }, denied);
    await upstream.connect(live());
    expect(await upstream.send([envelope(1)], live())).toMatchObject({ kind: 'retry', reason: /HTTP 403/ });
  });
});
