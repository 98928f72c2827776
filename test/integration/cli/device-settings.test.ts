import { readFile, writeFile } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { decodeBatch, type WireReading } from '../../../src/upstream/common/batch-payload.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';

/** A cloud-side consumer of every telemetry topic of gateway `it`: each reading with the topic it came on. */
async function listen(port: number): Promise<{
  received: { topic: string; reading: WireReading }[];
  results: { id: string; device?: string; status: string }[];
  client: MqttClient;
}> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: `devices-${Math.random()}`,
  });
  const received: { topic: string; reading: WireReading }[] = [];
  const results: { id: string; device?: string; status: string }[] = [];
  client.on('message', (topic, payload) => {
    if (topic === 'fieldgate/it/results') {
      results.push(JSON.parse(payload.toString()) as (typeof results)[number]);
      return;
    }
    for (const reading of decodeBatch(payload).readings) received.push({ topic, reading });
  });
  await client.subscribeAsync(['fieldgate/it/telemetry/#', 'fieldgate/it/results'], { qos: 1 });
  return { received, results, client };
}

describe('device names in readings and topics (real daemon, sim radio, MQTT broker)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Awaited<ReturnType<typeof startMqttBroker>>;
  let daemon: Daemon | undefined;
  let consumer: Awaited<ReturnType<typeof listen>>;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    consumer = await listen(broker.port);
  });

  afterEach(async () => {
    await daemon?.stop();
    await consumer.client.endAsync(true);
    await broker.close();
    await work.cleanup();
  });

  const cli = (...args: string[]) =>
    runCli([...args, '--socket', daemon!.socket, '--config', daemon!.configFile]);
  /** True once a reading of `device` named `name` arrived on `topic` (any topic when undefined). */
  const seen = (device: string, name: string, topic?: string) =>
    consumer.received.some(
      (r) =>
        r.reading.device === device && r.reading.name === name && (topic === undefined || r.topic === topic),
    );

  it('a name given with devices rename is in the readings the broker receives, not only in `devices`', async () => {
    daemon = await Daemon.start(work.dir, testConfig(work.dir, broker.port));
    const renamed = await cli('devices', 'rename', 'sim:climate-01', 'living room');
    expect(renamed.code).toBe(0);
    await waitFor(() => seen('sim:climate-01', 'living room'), 'a reading named "living room"', 20_000);
    // The id stays the identity; devices without a name carry none.
    expect(consumer.received.some((r) => r.reading.device === 'sim:climate-02' && 'name' in r.reading)).toBe(
      false,
    );
  });

  it('devices: names readings and {name} topics; rename writes the file and applies; a reload changes it', async () => {
    const base = testConfig(work.dir, broker.port);
    const config = {
      ...base,
      devices: { 'sim:climate-01': { name: 'living room', calibration: { temperature: 100 } } },
      routes: {
        local: {
          ...base.routes.local,
          upstream: {
            ...base.routes.local.upstream,
            topics: { telemetry: 'fieldgate/{gateway}/telemetry/{name}' },
          },
        },
      },
    };
    daemon = await Daemon.start(work.dir, config);
    await waitFor(
      () => seen('sim:climate-01', 'living room', 'fieldgate/it/telemetry/living room'),
      'readings on the topic of "living room"',
    );
    const named = consumer.received.filter((r) => r.reading.name === 'living room');
    expect(named.every((r) => r.topic === 'fieldgate/it/telemetry/living room')).toBe(true);
    // The calibration offset moved every temperature of that sensor up by 100 °C.
    expect(
      named
        .filter((r) => 'temperature' in r.reading.values)
        .every((r) => (r.reading.values.temperature as number) > 60),
    ).toBe(true);
    await waitFor(
      () => consumer.received.some((r) => r.topic === 'fieldgate/it/telemetry/sim:climate-02'),
      'an unnamed device under its id',
    );

    // A comment of the operator's: the rename must keep it.
    await writeFile(daemon.configFile, `# the barn gateway\n${await readFile(daemon.configFile, 'utf8')}`);
    const renamed = await cli('devices', 'rename', 'living room', 'kitchen');
    expect(renamed.stderr).toBe('');
    expect(renamed.stdout).toBe(
      `sim:climate-01 is now "kitchen" (written to ${daemon.configFile}, applied)\n`,
    );
    const text = await readFile(daemon.configFile, 'utf8');
    expect(text).toMatch(/^# the barn gateway\n/);
    expect(text).toMatch(/sim:climate-01:\n\s+name: kitchen\n/);
    await waitFor(
      () => seen('sim:climate-01', 'kitchen', 'fieldgate/it/telemetry/kitchen'),
      'readings as "kitchen"',
    );

    // A name another device already has is refused, and the file is left as it was.
    const taken = await cli('devices', 'rename', 'sim:climate-02', 'Kitchen');
    expect(taken.code).toBe(78);
    expect(taken.stderr).toContain('the name "Kitchen" is already given to sim:climate-01');
    expect(await readFile(daemon.configFile, 'utf8')).toBe(text);

    await writeFile(daemon.configFile, text.replace('name: kitchen', 'name: pantry'));
    daemon.process.kill('SIGHUP');
    await waitFor(
      () => seen('sim:climate-01', 'pantry', 'fieldgate/it/telemetry/pantry'),
      'readings as "pantry"',
    );
    const status = await daemon.status();
    expect(status.reload?.applied).toContain('devices');
    expect(status.restartRequired).toEqual([]);
    const list = JSON.parse((await cli('devices', '--json')).stdout) as { id: string; name?: string }[];
    expect(list.find((d) => d.id === 'sim:climate-01')?.name).toBe('pantry');
  });

  it('a command sent to <commands>/<name> reaches the device of that name', async () => {
    daemon = await Daemon.start(work.dir, {
      ...testConfig(work.dir, broker.port),
      devices: { 'sim:switch-01': { name: 'porch light' } },
    });
    // Readings arriving means the route is connected, and so subscribed to its commands.
    await waitFor(() => consumer.received.length > 0, 'the route to connect');
    await consumer.client.publishAsync(
      'fieldgate/it/commands/porch light',
      JSON.stringify({ id: 'c-1', name: 'on' }),
      {
        qos: 1,
      },
    );
    await waitFor(() => consumer.results.some((r) => r.id === 'c-1'), 'the result of c-1');
    expect(consumer.results.find((r) => r.id === 'c-1')).toMatchObject({
      status: 'ok',
      device: 'sim:switch-01',
    });
    await waitFor(
      () =>
        consumer.received.some((r) => r.reading.name === 'porch light' && r.reading.values.state === true),
      'the switch reporting it is on',
    );
  });
});
