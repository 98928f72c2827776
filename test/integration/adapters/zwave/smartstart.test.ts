import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisioningEntry } from '../../../../adapters/adapter.js';
import { startMqttBroker, type MqttBroker } from '../../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { MockStick, isSmartStartListenRequest } from '../../../fakes/zwave/mock-stick.js';
import { smartStartQr } from '../../../fakes/zwave/smartstart-qr.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../../support/daemon.js';

// The SmartStart list through the whole daemon: `fieldgate provision add|list|remove` against a running
// daemon whose Z-Wave adapter opens the mock stick. zwave-js keeps the list in its network cache and, while
// an entry is active, keeps the controller in SmartStart listening mode. The network has no nodes: a
// restart amid a node's interview trips the mock controller ("SendData while not idle"), which is not
// what this file is about.

const DSK = '11111-22222-33333-44444-55555-11111-22222-33333';
const OTHER_DSK = '22222-33333-44444-55555-11111-22222-33333-44444';

describe('the SmartStart list through the daemon (mock stick, real CLI)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let stick: MockStick;
  let broker: MqttBroker;
  let daemon: Daemon | undefined;
  let config: Record<string, unknown>;

  async function startDaemon(): Promise<Daemon> {
    const started = await Daemon.start(work.dir, config);
    await waitFor(
      async () => {
        const { stdout } = await runCli(['status', '--json', '--socket', started.socket]);
        if (stdout === '') return false;
        const status = JSON.parse(stdout) as { adapters: { name: string; state: string }[] };
        return status.adapters.some((a) => a.name === 'zwave' && a.state === 'running');
      },
      `the zwave adapter running\n${started.output}`,
      60_000,
    );
    return started;
  }

  async function provision(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runCli(['provision', ...args, '--adapter', 'zwave', '--json', '--socket', daemon!.socket]);
  }

  async function listed(): Promise<ProvisioningEntry[]> {
    const result = await provision(['list']);
    if (result.code !== 0) throw new Error(`provision list: ${result.stderr}`);
    return JSON.parse(result.stdout) as ProvisioningEntry[];
  }

  beforeAll(async () => {
    work = await makeWorkdir();
    stick = await MockStick.start({ homeId: 0x7e57000b });
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    config = {
      ...testConfig(work.dir, broker.port),
      adapters: {
        zwave: { type: 'zwave', serialPort: stick.url, reopen: { initialMs: 200, maxMs: 1000 } },
      },
    };
    daemon = await startDaemon();
  }, 90_000);

  afterAll(async () => {
    stick?.unstall();
    if (daemon !== undefined && daemon.process.exitCode === null) await daemon.kill9();
    await broker?.close();
    await stick?.close();
    await work?.cleanup();
  });

  it('adds a device from its QR code digits and lists it as active', async () => {
    const added = await provision(['add', smartStartQr(DSK)]);

    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ dsk: DSK, status: 'active' });
    expect(await listed()).toEqual([
      expect.objectContaining({
        dsk: DSK,
        status: 'active',
        securityClasses: ['s2Unauthenticated', 's2Authenticated', 's2AccessControl'],
        product: '0x0086:0x0003:0x0060',
      }),
    ]);
    // The controller was put in SmartStart listening mode, as a real one is while an entry waits.
    await waitFor(() => stick.isSmartStartListening, 'SmartStart listening mode at the stick');
  }, 60_000);

  it('keeps the entry over a daemon restart', async () => {
    expect(await daemon!.stop()).toBe(0);
    daemon = await startDaemon();

    expect((await listed()).map((e) => e.dsk)).toEqual([DSK]);
  }, 90_000);

  it('removes the entry; it is gone from the list and the controller stops listening', async () => {
    const removed = await provision(['remove', DSK]);

    expect(removed.code, removed.stderr).toBe(0);
    expect(await listed()).toEqual([]);
    await waitFor(() => !stick.isSmartStartListening, 'SmartStart listening mode left at the stick');
    const again = await provision(['remove', DSK]);
    expect(again.code).not.toBe(0);
  }, 60_000);

  it('ends on SIGTERM while the stick has not answered the request to listen for SmartStart devices', async () => {
    // The stick hangs on the listen request that a new entry causes; the gateway is stopped meanwhile.
    stick.stall(isSmartStartListenRequest);
    const added = await provision(['add', OTHER_DSK]);
    expect(added.code, added.stderr).toBe(0);
    await waitFor(() => stick.stalledFrames.length > 0, 'the listen request at the stick');

    daemon!.process.kill('SIGTERM');

    await waitFor(
      () => daemon!.process.exitCode !== null,
      `the daemon to end after SIGTERM\n${daemon!.output.slice(-3000)}`,
      30_000,
    );
    expect(daemon!.process.exitCode).toBe(0);
  }, 60_000);
});
