import type { AedesPublishPacket, Client } from 'aedes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/logger.js';
import type { CommandResult, Envelope, Value } from '../../../../src/model.js';
import type { AwsUpstreamConfig } from '../../../../src/config/upstreams/aws.js';
import {
  gatewayThingPolicy,
  leafShadowStatements,
  type PolicyDocument,
} from '../../../../emulators/aws/index.js';
import { AwsUpstream } from '../../../../src/upstream/aws/aws-upstream.js';
import type { IncomingCommand } from '../../../../src/upstream/upstream.js';
import { awsConfigFor, memoryFiles, startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

const live = (): AbortSignal => new AbortController().signal;
let gseq = 0;
const reading = (device: string, values: Record<string, Value>): Envelope => ({
  gseq: ++gseq,
  reading: { device, ts: 1_700_000_000_000 + gseq, values },
});

describe('AwsUpstream device shadows against the emulator', () => {
  let cloud: TestCloud;
  let upstream: AwsUpstream;
  let commands: IncomingCommand[];

  const start = async (
    shadows: Partial<AwsUpstreamConfig['shadows']> = {},
    policy?: PolicyDocument,
  ): Promise<void> => {
    const config = awsConfigFor(cloud);
    upstream = new AwsUpstream({
      config: { ...config, shadows: { ...config.shadows, minIntervalMs: 0, ...shadows } },
      gatewayId: 'gw-1',
      route: 'aws',
      log: silentLogger(),
      readFile: memoryFiles(await cloud.emulator.mintDevice('gw-1', policy), cloud.emulator.ca),
    });
    upstream.onCommand((incoming) => commands.push(incoming));
    await upstream.connect(live());
  };
  const reported = (shadow: string): Record<string, unknown> | undefined =>
    (cloud.emulator.shadows.document('gw-1', shadow)?.state as { reported?: Record<string, unknown> })
      ?.reported;
  const send = async (...batch: Envelope[]): Promise<void> => {
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
  };

  beforeEach(async () => {
    cloud = await startTestCloud();
    commands = [];
  });
  afterEach(async () => {
    await upstream.close();
    await cloud.close();
  });

  it('keeps a named shadow per leaf in step with its readings, sending only changed fields', async () => {
    await start();
    await send(
      reading('sim:switch-01', { state: false, power: 0.3 }),
      reading('sim:climate-01', { temperature: 21 }),
    );
    await waitFor(() => reported('sim:switch-01')?.power === 0.3, 'switch shadow reported');
    await waitFor(() => reported('sim:climate-01')?.temperature === 21, 'climate shadow reported');
    await send(reading('sim:switch-01', { state: false, power: 45 }));
    await waitFor(() => reported('sim:switch-01')?.power === 45, 'changed power');
    const updates = cloud.messages.filter(
      (m) => m.topic === '$aws/things/gw-1/shadow/name/sim:switch-01/update',
    );
    const last = JSON.parse(updates.at(-1)!.payload.toString()) as { state: { reported: object } };
    expect(last.state.reported).toEqual({ power: 45 });
  });

  it('turns a desired change into one device command and reports the outcome, clearing the delta', async () => {
    await start();
    await send(reading('sim:switch-01', { state: false, power: 0.3 }));
    await waitFor(() => reported('sim:switch-01')?.state === false, 'initial report');
    cloud.emulator.shadows.update('gw-1', 'sim:switch-01', { state: { desired: { state: true } } });
    await waitFor(() => commands.length === 1, 'a command from the delta');
    const incoming = commands[0]!;
    expect(incoming).toMatchObject({
      kind: 'command',
      command: { device: 'sim:switch-01', name: 'on', args: {} },
    });
    const id = incoming.kind === 'command' ? incoming.command.id : '';
    await upstream.publishResult(
      { id, device: 'sim:switch-01' },
      { id, status: 'ok', data: { state: true } },
    );
    await waitFor(() => reported('sim:switch-01')?.state === true, 'reported follows the outcome');
    expect(cloud.emulator.shadows.document('gw-1', 'sim:switch-01')).not.toHaveProperty('state.delta');
    // The result went into the shadow, not onto the command response topic.
    expect(cloud.messages.some((m) => m.topic.endsWith('/res'))).toBe(false);
    expect(commands).toHaveLength(1);
  });

  it('reports a failed desired command under commandErrors and leaves the field as it was', async () => {
    await start();
    await send(reading('sim:sleepy-01', { temperature: 20 }));
    await waitFor(() => reported('sim:sleepy-01')?.temperature === 20, 'initial report');
    cloud.emulator.shadows.update('gw-1', 'sim:sleepy-01', { state: { desired: { interval: 5 } } });
    await waitFor(() => commands.length === 1, 'a command');
    const incoming = commands[0]!;
    expect(incoming).toMatchObject({ command: { name: 'set', args: { interval: 5 } } });
    const id = incoming.kind === 'command' ? incoming.command.id : '';
    const result: CommandResult = { id, status: 'unsupported', detail: 'no such command' };
    await upstream.publishResult({ id, device: 'sim:sleepy-01' }, result);
    await waitFor(() => reported('sim:sleepy-01')?.commandErrors !== undefined, 'error reported');
    expect(reported('sim:sleepy-01')).toMatchObject({
      temperature: 20,
      commandErrors: { interval: { status: 'unsupported', detail: 'no such command' } },
    });
    expect(reported('sim:sleepy-01')).not.toHaveProperty('interval');
  });

  it('resolves a version conflict by reading the shadow again and retrying', async () => {
    await start();
    await send(reading('sim:climate-01', { temperature: 21 }));
    await waitFor(() => reported('sim:climate-01')?.temperature === 21, 'initial report');
    // Another writer gets in just before the gateway's next update reaches the service, so the version
    // the gateway sends is stale.
    let isRaced = false;
    cloud.emulator.broker.aedes.prependListener(
      'publish',
      (packet: AedesPublishPacket, client: Client | null) => {
        if (client === null || isRaced || !packet.topic.endsWith('sim:climate-01/update')) return;
        isRaced = true;
        cloud.emulator.shadows.update('gw-1', 'sim:climate-01', { state: { reported: { note: 'x' } } });
      },
    );
    await send(reading('sim:climate-01', { temperature: 22 }));
    await waitFor(() => reported('sim:climate-01')?.temperature === 22, 'update after the conflict');
    expect(reported('sim:climate-01')).toEqual({ note: 'x', temperature: 22 });
    const codes = cloud.emulator.shadows.requests().map((r) => `${r.operation} ${r.code}`);
    expect(codes.slice(-3)).toEqual(['update 409', 'get 200', 'update 200']);
  });

  it('keeps 30 busy leaves within 20 shadow requests per second on the gateway thing, never a 429', async () => {
    await start({ minIntervalMs: 1000 });
    const devices = Array.from({ length: 30 }, (_, i) => `sim:climate-${String(i).padStart(3, '0')}`);
    for (let round = 0; round < 3; round++) {
      await send(...devices.map((d) => reading(d, { temperature: 20 + round })));
    }
    await waitFor(
      () => devices.every((d) => reported(d)?.temperature === 22),
      'every shadow at the last value',
      40_000,
    );
    const requests = cloud.emulator.shadows.requests();
    expect(requests.filter((r) => r.code === 429)).toEqual([]);
    // Arrivals bunch when the shared test process is busy, so bound the average rate rather than each
    // sliding window: n requests at ≤ 20/s need at least (n - 20) / 20 seconds.
    const times = requests.map((r) => r.atMs);
    const spanMs = Math.max(...times) - Math.min(...times);
    expect(requests.length).toBeGreaterThan(40);
    expect(spanMs).toBeGreaterThanOrEqual(((requests.length - 20) / 20) * 1000);
    // Merging: 90 readings become fewer than 90 updates.
    expect(requests.filter((r) => r.operation === 'update').length).toBeLessThan(90);
  }, 60_000);

  it('writes availability into reported, also when it was announced before the first reading', async () => {
    await start();
    upstream.onDeviceState({ id: 'sim:sleepy-01', availability: 'online' });
    await send(reading('sim:sleepy-01', { temperature: 20 }));
    await waitFor(() => reported('sim:sleepy-01')?.availability === 'online', 'online reported');
    expect(reported('sim:sleepy-01')).toMatchObject({ temperature: 20 });
    expect(typeof reported('sim:sleepy-01')?.availabilityChangedAt).toBe('number');
    upstream.onDeviceState({ id: 'sim:sleepy-01', availability: 'asleep' });
    await waitFor(() => reported('sim:sleepy-01')?.availability === 'asleep', 'asleep reported');
    // A device this route never carried gets no shadow.
    upstream.onDeviceState({ id: 'sim:other-01', availability: 'online' });
    await send(reading('sim:sleepy-01', { temperature: 21 }));
    await waitFor(() => reported('sim:sleepy-01')?.temperature === 21, 'next reading');
    expect(cloud.emulator.shadows.document('gw-1', 'sim:other-01')).toBeUndefined();
  });

  it('keeps a classic shadow per leaf thing when the policy and registry allow it', async () => {
    for (const thing of ['sim:switch-01', 'sim:climate-01']) cloud.emulator.registry.putThing(thing);
    await start(
      { mode: 'classic' },
      { Statement: [...gatewayThingPolicy('gw-1').Statement, ...leafShadowStatements(['sim:*'])] },
    );
    const classic = (thing: string): Record<string, unknown> | undefined =>
      (cloud.emulator.shadows.document(thing)?.state as { reported?: Record<string, unknown> })?.reported;
    await send(
      reading('sim:switch-01', { state: false, power: 0.3 }),
      reading('sim:climate-01', { temperature: 21 }),
    );
    await waitFor(() => classic('sim:switch-01')?.state === false, 'switch thing shadow');
    await waitFor(() => classic('sim:climate-01')?.temperature === 21, 'climate thing shadow');
    cloud.emulator.shadows.update('sim:switch-01', undefined, { state: { desired: { state: true } } });
    await waitFor(() => commands.length === 1, 'a command from the thing’s delta');
    const incoming = commands[0]!;
    expect(incoming).toMatchObject({ command: { device: 'sim:switch-01', name: 'on' } });
    const id = incoming.kind === 'command' ? incoming.command.id : '';
    await upstream.publishResult({ id, device: 'sim:switch-01' }, { id, status: 'ok' });
    await waitFor(() => classic('sim:switch-01')?.state === true, 'reported follows the outcome');
    expect(cloud.emulator.shadows.document('sim:switch-01')).not.toHaveProperty('state.delta');
    expect(cloud.emulator.broker.refusals()).toEqual([]);
    expect(cloud.emulator.shadows.requests().filter((r) => r.code !== 200 && r.code !== 404)).toEqual([]);
  });

  it('keeps trying a classic leaf whose thing is not registered, without disturbing the others', async () => {
    cloud.emulator.registry.putThing('sim:climate-01');
    await start(
      { mode: 'classic' },
      { Statement: [...gatewayThingPolicy('gw-1').Statement, ...leafShadowStatements(['sim:*'])] },
    );
    await send(reading('sim:ghost-01', { temperature: 1 }), reading('sim:climate-01', { temperature: 2 }));
    await waitFor(
      () => cloud.emulator.shadows.document('sim:climate-01') !== undefined,
      'the registered leaf’s shadow',
    );
    await waitFor(
      () =>
        cloud.emulator.shadows.requests().some((r) => r.thing === 'sim:ghost-01' && r.operation === 'update'),
      'an update for the unregistered leaf',
    );
    cloud.emulator.registry.putThing('sim:ghost-01');
    await waitFor(
      () => cloud.emulator.shadows.document('sim:ghost-01') !== undefined,
      'the leaf’s shadow once the thing exists',
      20_000,
    );
  }, 30_000);

  it('keeps at most a few shadow requests in flight on the connection, however many leaf things', async () => {
    // A service that takes 200 ms to answer, so requests pile up unless the gateway holds them back.
    await cloud.close();
    cloud = await startTestCloud({ shadowLatencyMs: 200 });
    const devices = Array.from({ length: 30 }, (_, i) => `sim:climate-${String(i).padStart(3, '0')}`);
    for (const device of devices) cloud.emulator.registry.putThing(device);
    await start(
      { mode: 'classic' },
      { Statement: [...gatewayThingPolicy('gw-1').Statement, ...leafShadowStatements(['sim:*'])] },
    );
    await send(...devices.map((d) => reading(d, { temperature: 20 })));
    await waitFor(
      () => devices.every((d) => cloud.emulator.shadows.document(d) !== undefined),
      'every leaf thing’s shadow',
      40_000,
    );
    expect(cloud.emulator.shadows.requests().filter((r) => r.code === 429)).toEqual([]);
  }, 60_000);
});
