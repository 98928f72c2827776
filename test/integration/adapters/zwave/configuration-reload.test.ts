import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigurationCCSet } from '@zwave-js/cc';
import type { MockNodeBehavior } from '@zwave-js/testing';
import { startMqttBroker, type MqttBroker } from '../../../../emulators/mqtt/index.js';
import { controlRequest } from '../../../../src/control/client.js';
import type { ReloadStatus } from '../../../../src/health/status.js';
import { silentLogger } from '../../../../src/logger.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { addConfigurablePlug } from '../../../fakes/zwave/nodes.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../../support/daemon.js';

// A changed configuration parameter in config `devices:` reaches the device when the daemon reloads
// (`POST /v1/reload`, as SIGHUP and `devices rename` do), not at some later periodic check.

const HOME = 0x7e57000d;
const PLUG = 'zwave:7e57000d-2';

describe('Z-Wave configuration parameters on reload (the daemon, a mock stick)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let stick: MockStick;
  let broker: MqttBroker;
  let daemon: Daemon | undefined;
  const sets: { parameter: number; value: number }[] = [];
  const recorder: MockNodeBehavior = {
    handleCC: (_controller, _self, cc) => {
      if (cc instanceof ConfigurationCCSet && typeof cc.value === 'number')
        sets.push({ parameter: cc.parameter, value: cc.value });
      return undefined;
    },
  };

  const configWith = (configuration: Record<string, number>) => ({
    ...testConfig(work.dir, broker.port),
    adapters: {
      zwave: { type: 'zwave', serialPort: stick.url, reopen: { initialMs: 200, maxMs: 1000 } },
    },
    devices: { [PLUG]: { configuration } },
  });

  beforeAll(async () => {
    work = await makeWorkdir();
    stick = await MockStick.start({ homeId: HOME });
    await addConfigurablePlug(stick, [recorder]);
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    daemon = await Daemon.start(work.dir, configWith({ '1': 5, '2': 300 }));
    await waitFor(
      () => sets.some((s) => s.parameter === 1 && s.value === 5) && sets.some((s) => s.parameter === 2),
      `parameters 1 and 2 at the device after the interview\n${daemon.output}`,
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop();
    await broker?.close();
    await stick?.close();
    await work?.cleanup();
  });

  it('sends the changed parameter (and only it) when the reload is applied', async () => {
    // Both first values confirmed or read back: nothing of the first round is still on its way.
    await waitFor(
      () => daemon!.output.split('Z-Wave configuration parameter set').length - 1 >= 2,
      `the first values confirmed or read back\n${daemon!.output}`,
    );
    const before = sets.length;
    await writeFile(path.join(work.dir, 'fieldgate.yaml'), stringify(configWith({ '1': 5, '2': 900 })), {
      mode: 0o644,
    });

    const reload = await controlRequest<ReloadStatus>(daemon!.socket, 'POST', '/v1/reload');

    expect(reload.applied).toContain('devices');
    await waitFor(
      () => sets.slice(before).some((s) => s.parameter === 2 && s.value === 900),
      `parameter 2 = 900 at the device after the reload\n${daemon!.output}`,
      30_000,
    );
    // Parameter 1 did not change: it is not sent again.
    expect(sets.slice(before).filter((s) => s.parameter === 1)).toEqual([]);
  }, 60_000);
});
