import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../../emulators/mqtt/index.js';
import { controlRequest } from '../../../src/control/client.js';
import { silentLogger } from '../../../src/logger.js';
import type { DeviceInfo } from '../../../src/model.js';
import { MockStick } from '../../fakes/zwave/mock-stick.js';
import { addSwitchWithThermometer } from '../../fakes/zwave/nodes.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
/** Home id 0x7e570001 (MockStick's default), node 2. */
const NODE_ID = 'zwave:7e570001-2';
/** One zwave-js module, to see that the release holds it minified. */
const ZWAVE_CONTROLLER = 'node_modules/zwave-js/build/esm/lib/controller/Controller.js';

/**
 * The x64 release tree as `npm run package` writes it, its dependencies minified (scripts/compact-js.mjs):
 * its daemon runs the Z-Wave stack, which is ES modules and so minified, through an interview, and the Zigbee
 * stack, which is CommonJS and imported by name. Uses the `dist/` that `npm test` has just built.
 */
describe('the release tree runs the radio stacks from its minified dependencies (real daemon, mock stick)', () => {
  let out: string | undefined;
  let work: Awaited<ReturnType<typeof makeWorkdir>> | undefined;
  let broker: MqttBroker | undefined;
  let stick: MockStick | undefined;
  let daemon: Daemon | undefined;

  afterAll(async () => {
    await daemon?.stop();
    await stick?.close();
    await broker?.close();
    await work?.cleanup();
    if (out !== undefined) await rm(out, { recursive: true, force: true });
  });

  it('interviews a Z-Wave node and reports a Zigbee coordinator that is absent, then stops on SIGTERM', async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-release-'));
    await run('bash', ['systemd/package.sh', '--arch', 'x64', '--no-deb', '--out', out], {
      env: { ...process.env, FIELDGATE_PACKAGE_SKIP_BUILD: '1' },
      maxBuffer: 64 * 1024 * 1024,
    });
    await run('tar', ['-C', out, '-xzf', path.join(out, `fieldgate-${version}-linux-x64.tar.gz`)]);
    const tree = path.join(out, `fieldgate-${version}-linux-x64`);
    const shipped = await readFile(path.join(tree, ZWAVE_CONTROLLER), 'utf8');
    expect(shipped.length).toBeLessThan((await readFile(ZWAVE_CONTROLLER, 'utf8')).length * 0.7);

    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    stick = await MockStick.start();
    await addSwitchWithThermometer(stick);
    daemon = await Daemon.start(
      work.dir,
      {
        ...testConfig(work.dir, broker.port),
        adapters: {
          zwave: { type: 'zwave', serialPort: stick.url },
          zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: path.join(work.dir, 'no-such-stick') },
        },
      },
      { main: path.join(tree, 'dist/src/main.js') },
    );
    await waitFor(async () => {
      const query = '/v1/devices?adapter=zwave';
      const { devices } = await controlRequest<{ devices: DeviceInfo[] }>(daemon!.socket, 'GET', query);
      // The interview ends when the node's sensor value is known.
      return devices.some((d) => d.id === NODE_ID && d.capabilities.values.includes('temperature'));
    }, `the interview of node 2\n${daemon.output}`);
    let zigbee: { state: string; detail?: string } | undefined;
    await waitFor(async () => {
      zigbee = (await daemon!.status()).adapters.find((a) => a.name === 'zigbee');
      return zigbee?.state === 'unavailable' || zigbee?.state === 'degraded';
    }, `the Zigbee adapter to say its coordinator is missing\n${daemon.output}`);
    expect(zigbee?.detail).toMatch(/^Zigbee coordinator cannot be opened: /);
    expect(await daemon.stop()).toBe(0);
  }, 240_000);
});
