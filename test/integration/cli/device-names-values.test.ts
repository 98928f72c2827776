import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import type { DeviceInfo } from '../../../src/model.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';

/** What `devices`, `devices show` and `send` tell about devices that report often, by id and by name. */
describe('devices: last seen, current values and friendly names (real daemon)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Awaited<ReturnType<typeof startMqttBroker>>;
  let daemon: Daemon;
  const cli = (...args: string[]) =>
    runCli([...args, '--socket', daemon.socket], { ...process.env, NO_COLOR: '1' });

  beforeAll(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    daemon = await Daemon.start(work.dir, testConfig(work.dir, broker.port));
    await waitFor(
      async () => (await daemon.status()).routes[0]!.forwarder.sentReadings > 20,
      'readings to flow',
    );
  });

  afterAll(async () => {
    await daemon.stop();
    await broker.close();
    await work.cleanup();
  });

  it('devices shows when each reporting device was last heard, not "never"', async () => {
    const before = Date.now();
    await waitFor(async () => {
      const list = JSON.parse((await cli('devices', '--json')).stdout) as DeviceInfo[];
      return list.find((d) => d.id === 'sim:climate-01')!.lastSeen >= before;
    }, 'climate-01 heard after the test started');
    const table = await cli('devices');
    const row = table.stdout.split('\n').find((line) => line.startsWith('sim:climate-01'));
    expect(row).toMatch(/\d+s ago$/);
  });

  it('devices show lists the current value of each reading', async () => {
    const human = await cli('devices', 'show', 'sim:climate-01');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^VALUE\s+CURRENT\s+SINCE/m);
    expect(human.stdout).toMatch(/^temperature\s+-?\d+(\.\d+)? \S+\s+\d+s ago$/m);
    const json = JSON.parse((await cli('devices', 'show', 'sim:climate-01', '--json')).stdout) as {
      current: Record<string, { value: unknown; ts: number }>;
    };
    expect(typeof json.current.temperature?.value).toBe('number');
  });

  it('a name given with rename works wherever an id does: show, send (with its data), remove', async () => {
    expect((await cli('devices', 'rename', 'sim:switch-01', 'porch light')).code).toBe(0);

    const show = JSON.parse((await cli('devices', 'show', 'porch light', '--json')).stdout) as DeviceInfo;
    expect(show.id).toBe('sim:switch-01');

    const sent = await cli('send', 'porch light', 'toggle');
    expect(sent.stdout).toMatch(/^ok\n {2}state: (true|false)\n$/);
    expect(sent.code).toBe(0);

    const unknown = await cli('send', 'no such light', 'toggle');
    expect(unknown.stdout).toMatch(/^rejected/);
    expect(unknown.code).toBe(1);

    // Names are matched ignoring case when no exact match exists.
    const removed = await cli('devices', 'remove', 'Porch Light');
    expect(removed.stdout).toBe('removed sim:switch-01\n');
    expect(removed.code).toBe(0);
  });

  it('a name another device has is refused when given, and the first device keeps it', async () => {
    expect((await cli('devices', 'rename', 'sim:climate-01', 'kitchen')).code).toBe(0);
    const second = await cli('devices', 'rename', 'sim:climate-02', 'kitchen');
    expect(second.stderr).toContain('the name "kitchen" is already given to sim:climate-01');
    expect(second.code).toBe(78);
    const show = JSON.parse((await cli('devices', 'show', 'kitchen', '--json')).stdout) as DeviceInfo;
    expect(show.id).toBe('sim:climate-01');
  });
});
