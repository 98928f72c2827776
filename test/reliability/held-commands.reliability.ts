import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import type { HeldCommand } from '../../src/commands/router.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';

/*
 * A cloud floods sleeping devices with commands, 7 in 8 of them with huge ids, on a gateway whose heap is as
 * small as the systemd unit's. CI size below; the attack as first seen:
 *   RELIABILITY_HELD_DEVICES=60 RELIABILITY_HELD_SECONDS=12 RELIABILITY_HELD_HEAP_MB=160
 */
const DEVICES = Number(process.env.RELIABILITY_HELD_DEVICES ?? 20);
const ID_BYTES = Number(process.env.RELIABILITY_HELD_ID_BYTES ?? 60_000);
const RATE_PER_S = Number(process.env.RELIABILITY_HELD_RATE ?? 200);
const SECONDS = Number(process.env.RELIABILITY_HELD_SECONDS ?? 5);
/** The unit runs Node with 160 MB; the CI size sends a third of the commands, so it gets a smaller heap. */
const HEAP_MB = Number(process.env.RELIABILITY_HELD_HEAP_MB ?? 64);
/** `commands.maxPerDevice`'s default. */
const MAX_PER_DEVICE = 50;
const RESTARTS = 3;

/** Commands n and n+1 (a huge and a short id) go to the same device; devices take turns. */
/** Commands come in groups of 8 per device (7 huge ids, 1 short); devices take turns. */
const sleepy = (n: number) => `sim:sleepy-${String((Math.floor(n / 8) % DEVICES) + 1).padStart(2, '0')}`;
const isShort = (n: number) => n % 8 === 7;
/** A huge id's first 256 characters (what a refusal echoes) are unique. */
const hugeId = (n: number) => `huge-${String(n).padStart(8, '0')}-`.padEnd(ID_BYTES, 'x');
const shortId = (n: number) => `held-${String(n).padStart(8, '0')}`;

function config(dir: string, port: number) {
  return testConfig(dir, port, {
    // What is held and how a restart reads it back is under test here, not the per-route intake rate (the
    // command-flood scenario covers that): the intake lets this scenario's whole rate through.
    commands: { intake: { ratePerS: 10_000, burst: 10_000, maxInFlight: 100_000 } },
    adapters: {
      sim: {
        type: 'sim',
        fleet: { climate: 0, switch: 0, contact: 0, sleepy: DEVICES },
        reportIntervalMs: 1000,
        // Asleep for the whole test: ~23 days between wake-ups (setTimeout's limit is 24.8 days).
        wakeIntervalMs: 2_000_000_000,
        awakeMs: 100,
        seed: 7,
      },
    },
  });
}

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let cloud: Subscriber;
const nodeOptions = process.env.NODE_OPTIONS;

beforeAll(async () => {
  // The daemons this file spawns inherit it (each reliability file runs in a process of its own).
  process.env.NODE_OPTIONS = `--max-old-space-size=${HEAP_MB} --max-semi-space-size=1`;
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  cloud = await Subscriber.connect(broker.port);
});

afterAll(async () => {
  process.env.NODE_OPTIONS = nodeOptions;
  await cloud.close();
  await broker.close();
  await work.cleanup();
});

async function heldList(daemon: Daemon): Promise<HeldCommand[]> {
  const { code, stdout, stderr } = await runCli(['commands', 'list', '--socket', daemon.socket, '--json']);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as HeldCommand[];
}

it('stays up under a flood of held commands, restarts after kill -9, and purges them with results', async () => {
  let daemon = await Daemon.start(work.dir, config(work.dir, broker.port));
  const alive = () => {
    const { exitCode, signalCode } = daemon.process;
    if (exitCode === null && signalCode === null) return undefined;
    const fatal = /FATAL ERROR: .*/.exec(daemon.output)?.[0] ?? daemon.output.slice(-2000);
    return `daemon died (${signalCode ?? exitCode}): ${fatal}`;
  };

  // The flood: RATE_PER_S commands a second for SECONDS, 7 in 8 with huge ids.
  const total = RATE_PER_S * SECONDS;
  const startedAt = Date.now();
  for (let n = 0; n < total && alive() === undefined;) {
    const due = Math.min(total, Math.floor(((Date.now() - startedAt) / 1000) * RATE_PER_S) + 1);
    for (; n < due; n++) {
      const id = isShort(n) ? shortId(n) : hugeId(n);
      cloud.client.publish(
        'fieldgate/it/commands',
        JSON.stringify({ id, device: sleepy(n), name: 'identify', ttlMs: 86_400_000 }),
        { qos: 1 },
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // Then more than a device may hold, for one device.
  const burst = MAX_PER_DEVICE + 5;
  for (let b = 0; b < burst; b++) {
    const id = `held-burst-${b}`;
    await cloud.publishCommand('it', { id, device: sleepy(0), name: 'identify', ttlMs: 86_400_000 });
  }
  const shortPerDevice = new Map<string, number>();
  const count = (device: string, k: number) =>
    shortPerDevice.set(device, (shortPerDevice.get(device) ?? 0) + k);
  for (let n = 0; n < total; n++) if (isShort(n)) count(sleepy(n), 1);
  count(sleepy(0), burst);
  const short = [...shortPerDevice.values()].reduce((sum, k) => sum + k, 0);
  const huge = total + burst - short;
  const held = [...shortPerDevice.values()].reduce((sum, k) => sum + Math.min(k, MAX_PER_DEVICE), 0);
  // Every refusal is a result: one per huge id, and one per short id beyond what a device may hold.
  await waitFor(() => cloud.results.length >= huge + short - held, 'a result per refusal', 60_000, alive);
  expect(alive()).toBeUndefined();
  const status = await daemon.status();
  expect(status.commands).toMatchObject({
    pending: held,
    refused: { idTooLong: huge, deviceFull: short - held },
  });
  expect(short - held).toBeGreaterThan(0);
  // No result ever echoes a huge id whole.
  expect(cloud.results.every((r) => r.id.length <= 256)).toBe(true);
  expect(new Set(cloud.results.map((r) => r.id)).size).toBe(cloud.results.length);
  const resultsBeforeRestarts = cloud.results.length;

  // kill -9 and start again, RESTARTS times: every start comes up and holds the same commands.
  for (let restart = 0; restart < RESTARTS; restart++) {
    await daemon.kill9();
    daemon = await Daemon.start(work.dir, config(work.dir, broker.port));
    const list = await heldList(daemon);
    expect(list).toHaveLength(held);
    expect(list.every((c) => c.id.startsWith('held-') && c.route === 'local' && !c.isExecuting)).toBe(true);
  }
  // Held commands are not answered by a restart; nothing was answered twice.
  expect(cloud.results).toHaveLength(resultsBeforeRestarts);

  const purged = await runCli(['commands', 'purge', '--all', '--yes', '--socket', daemon.socket, '--json']);
  expect(purged.code, purged.stderr).toBe(0);
  expect((JSON.parse(purged.stdout) as { purged: HeldCommand[] }).purged).toHaveLength(held);
  await waitFor(() => cloud.results.length >= resultsBeforeRestarts + held, 'a result per purged command');
  const purgeResults = cloud.results.slice(resultsBeforeRestarts);
  expect(purgeResults.every((r) => r.status === 'rejected' && r.detail === 'purged by operator')).toBe(true);
  expect(new Set(purgeResults.map((r) => r.id)).size).toBe(held);
  expect(await heldList(daemon)).toEqual([]);
  expect(await daemon.stop()).toBe(0);
  console.log(
    `held commands: ${total + burst} sent to ${DEVICES} sleeping devices at ${RATE_PER_S}/s (${huge} with ` +
      `${ID_BYTES}-character ids), heap ${HEAP_MB} MB; ${held} held across ${RESTARTS} kill -9 restarts, ` +
      `${huge + short - held} refused, ${held} purged, ${cloud.results.length} results`,
  );
});
