import type { AedesPublishPacket, Client } from 'aedes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/logger.js';
import type { CommandResult, Envelope, Value } from '../../../../src/model.js';
import type { AwsUpstreamConfig } from '../../../../src/config/upstreams/aws.js';
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

  const start = async (shadows: Partial<AwsUpstreamConfig['shadows']> = {}): Promise<void> => {
    const config = awsConfigFor(cloud);
    upstream = new AwsUpstream({
      config: { ...config, shadows: { ...config.shadows, minIntervalMs: 0, ...shadows } },
      gatewayId: 'gw-1',
      route: 'aws',
      log: silentLogger(),
      readFile: memoryFiles(await cloud.emulator.mintDevice('gw-1'), cloud.emulator.ca),
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
});
