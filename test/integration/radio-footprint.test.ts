import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { controlRequest } from '../../src/control/client.js';
import { silentLogger } from '../../src/logger.js';
import type { DeviceInfo } from '../../src/model.js';
import { MockStick } from '../fakes/zwave/mock-stick.js';
import { addSwitchWithThermometer } from '../fakes/zwave/nodes.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from './support/daemon.js';

/**
 * Preloaded into the daemon: notes Node's own stack-trace formatter before anything else loads, and at
 * exit writes whether the process still uses it.
 */
const PROBE = `
import { writeFileSync } from 'node:fs';
const nodeFormatter = Error.prepareStackTrace;
process.on('exit', () => writeFileSync(process.env.FOOTPRINT_OUT, JSON.stringify({
  keepsNodeStackTraces: Error.prepareStackTrace === nodeFormatter,
})));
`;

/** Home id 0x7e570001 (MockStick's default), node 2. */
const NODE_ID = 'zwave:7e570001-2';

describe('the footprint of a gateway with a Z-Wave stick (real daemon, mock stick)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>> | undefined;
  let broker: MqttBroker | undefined;
  let stick: MockStick | undefined;
  let daemon: Daemon | undefined;

  afterEach(async () => {
    await daemon?.stop();
    await stick?.close();
    await broker?.close();
    await work?.cleanup();
    daemon = stick = broker = work = undefined;
  });

  // zwave-js's entry point installs source-map-support: from then on every stack trace the daemon formats
  // reads and keeps the `.js` and `.js.map` files of its frames, ~13 MiB more RSS once Z-Wave runs.
  it('runs zwave-js without its source-map stack-trace hook', async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    stick = await MockStick.start();
    await addSwitchWithThermometer(stick);
    const probe = path.join(work.dir, 'probe.mjs');
    const out = path.join(work.dir, 'footprint.json');
    await writeFile(probe, PROBE);
    daemon = await Daemon.start(
      work.dir,
      {
        ...testConfig(work.dir, broker.port),
        adapters: { zwave: { type: 'zwave', serialPort: stick.url } },
      },
      { env: { ...process.env, NODE_OPTIONS: `--import ${probe}`, FOOTPRINT_OUT: out } },
    );
    await waitFor(async () => {
      const query = '/v1/devices?adapter=zwave';
      const { devices } = await controlRequest<{ devices: DeviceInfo[] }>(daemon!.socket, 'GET', query);
      // The interview ends when the node's sensor value is known.
      return devices.some((d) => d.id === NODE_ID && d.capabilities.values.includes('temperature'));
    }, `the interview of node 2\n${daemon.output}`);
    expect(await daemon.stop()).toBe(0);

    const footprint = JSON.parse(await readFile(out, 'utf8')) as { keepsNodeStackTraces: boolean };
    expect(footprint.keepsNodeStackTraces).toBe(true);
  });
});
