import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CommandClasses } from '@zwave-js/core';
import { MockStick } from '../../test/fakes/zwave/mock-stick.js';
import type { AdapterStatus } from '../../src/adapter-host.js';
import { BenchDaemon } from '../support/daemon.js';
import type { Sample } from '../support/figures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep, waitUntil } from '../support/wait.js';
import { MB, type ScenarioContext } from './context.js';

/** Z-Wave's start includes loading its device database and interviewing the node: slow on a busy box. */
const RADIOS_UP_TIMEOUT_MS = 90_000;
/** Node 2 on the mock stick's network (home id 0x7e570001). */
const ZWAVE_NODE = 'zwave:7e570001-2';

type Radio = 'zigbee' | 'zwave' | 'ble';
const EVERY_RADIO: readonly Radio[] = ['zigbee', 'zwave', 'ble'];

/**
 * Footprint with every radio stack loaded (docs/benchmarks.md#footprint): the idle sim fleet of
 * `fieldgate.rss.idle`
 * plus a Z-Wave adapter driving a mock stick over `tcp://` (zwave-js running, one interviewed node), a
 * Zigbee adapter whose coordinator is absent (zigbee-herdsman and the converters loaded, reopen loop
 * running) and a BLE adapter with no Bluetooth on the machine (noble loaded, `unavailable`).
 */
export async function radiosFootprint(ctx: ScenarioContext): Promise<Sample[]> {
  return [await footprintWith(ctx, EVERY_RADIO, 'fieldgate.rss.radios')];
}

/**
 * Where the radios' RSS goes: the same daemon with one more radio stack each time (Zigbee, then Z-Wave,
 * then BLE), each in a daemon of its own.
 */
export async function radiosOneByOne(ctx: ScenarioContext): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let n = 1; n <= EVERY_RADIO.length; n++) {
    const radios = EVERY_RADIO.slice(0, n);
    const name = `fieldgate.rss.radios.${radios.join('+')}`;
    const dir = path.join(ctx.dir, String(n));
    await mkdir(dir);
    samples.push(await footprintWith({ ...ctx, dir }, radios, name));
  }
  return samples;
}

async function footprintWith(ctx: ScenarioContext, radios: readonly Radio[], name: string): Promise<Sample> {
  const broker = await Mosquitto.start({ dir: path.join(ctx.dir, 'broker'), persistence: false });
  // Under heavy load the daemon can miss the mock controller's 1 s ACK wait; the mock then rejects a promise
  // nobody awaits. zwave-js retransmits, so the run goes on; a stick that stays stuck ends in the timeout.
  const mockErrors: string[] = [];
  const keepMockError = (e: unknown) => mockErrors.push(String(e));
  process.on('unhandledRejection', keepMockError);
  const stick = await MockStick.start();
  await stick.addNode({
    id: 2,
    capabilities: { commandClasses: [CommandClasses.Version, CommandClasses['Binary Switch']] },
  });
  const every: Record<Radio, Record<string, unknown>> = {
    zwave: { type: 'zwave', serialPort: stick.url },
    zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: path.join(ctx.dir, 'no-such-coordinator') },
    ble: { type: 'ble', hciDevice: 7 },
  };
  const daemon = await BenchDaemon.start({
    dir: ctx.dir,
    upstreamPort: broker.port,
    adapters: { sim: { climate: 1000, reportIntervalMs: 5000, jitterMs: 500 } },
    extraAdapters: Object.fromEntries(radios.map((radio) => [radio, every[radio]])),
  });
  try {
    let adapters: AdapterStatus[] = [];
    const stateOf = (name: string) => adapters.find((a) => a.name === name)?.state;
    await waitUntil(
      async () => {
        adapters = (await daemon.status()).adapters;
        return (
          (!radios.includes('zwave') ||
            (stateOf('zwave') === 'running' && (await daemon.deviceIds('zwave')).includes(ZWAVE_NODE))) &&
          (!radios.includes('zigbee') || ['unavailable', 'degraded'].includes(stateOf('zigbee') ?? '')) &&
          (!radios.includes('ble') || stateOf('ble') === 'unavailable')
        );
      },
      `${radios.join(', ')} up (Z-Wave running with its node, the others unavailable; mock stick: ${mockErrors.join('; ')})`,
      RADIOS_UP_TIMEOUT_MS,
      undefined,
      500,
    );
    await sleep(ctx.warmupMs + ctx.windowMs / 2);
    return { name, value: (await daemon.rssBytes()) / MB, unit: 'MiB' };
  } finally {
    await daemon.stop();
    await stick.close();
    await broker.stop();
    process.off('unhandledRejection', keepMockError);
  }
}
