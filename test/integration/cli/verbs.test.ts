import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { parse } from 'yaml';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import type { StatusSnapshot } from '../../../src/health/status.js';
import { silentLogger } from '../../../src/logger.js';
import type { DeviceInfo, Reading } from '../../../src/model.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';

const MAIN = path.resolve('dist/src/main.js');

describe('every CLI verb against a running daemon', () => {
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
      async () => (await daemon.status()).routes[0]!.forwarder.sentReadings > 0,
      'readings to flow',
    );
  });

  afterAll(async () => {
    await daemon.stop();
    await broker.close();
    await work.cleanup();
  });

  it('creates the control socket 0660', async () => {
    expect((await stat(daemon.socket)).mode & 0o777).toBe(0o660);
  });

  it('status: a readable summary, and --json with the stable field names', async () => {
    const human = await cli('status');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/gateway it .* healthy/);
    expect(human.stdout).toMatch(/local {2}connected/);
    expect(human.stdout).toMatch(/backlog \d+ readings/);

    const json = await cli('status', '--json');
    const status = JSON.parse(json.stdout) as StatusSnapshot;
    expect(status.gateway).toBe('it');
    expect(status.adapters[0]).toMatchObject({ name: 'sim', state: 'running' });
    expect(status.routes[0]?.name).toBe('local');
    expect(['idle', 'sending']).toContain(status.routes[0]?.forwarder.state);
    expect(status.routes[0]!.queue).toHaveProperty('oldestAgeMs');
    expect(status.routes[0]).toHaveProperty('drainEtaS');
    expect(status.restartRequired).toEqual([]);
  });

  it('devices: list as a table and as JSON, show one, filter by adapter', async () => {
    const table = await cli('devices');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+AVAILABILITY/);
    expect(table.stdout).toContain('sim:climate-01');

    const list = JSON.parse((await cli('devices', '--json', '--adapter', 'sim')).stdout) as DeviceInfo[];
    expect(list.map((d) => d.id)).toEqual(
      expect.arrayContaining(['sim:climate-01', 'sim:switch-01', 'sim:sleepy-01']),
    );
    expect(JSON.parse((await cli('devices', '--json', '--adapter', 'zigbee')).stdout)).toEqual([]);

    const shown = JSON.parse((await cli('devices', 'show', 'sim:switch-01', '--json')).stdout) as DeviceInfo;
    expect(shown).toMatchObject({ id: 'sim:switch-01', model: 'sim-switch' });
    const missing = await cli('devices', 'show', 'sim:nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no device sim:nope');
  });

  it('devices rename writes the name into devices: of the config file; remove forgets the device', async () => {
    expect((await cli('devices', 'rename', 'sim:climate-02', 'Attic')).code).toBe(0);
    const renamed = JSON.parse(
      (await cli('devices', 'show', 'sim:climate-02', '--json')).stdout,
    ) as DeviceInfo;
    expect(renamed.name).toBe('Attic');
    const saved = parse(await readFile(daemon.configFile, 'utf8')) as {
      devices?: Record<string, { name?: string }>;
    };
    expect(saved.devices?.['sim:climate-02']?.name).toBe('Attic');

    expect((await cli('devices', 'remove', 'sim:climate-03')).code).toBe(0);
    const list = JSON.parse((await cli('devices', '--json')).stdout) as DeviceInfo[];
    expect(list.map((d) => d.id)).not.toContain('sim:climate-03');
  });

  it('devices interview: refused for a radio without interviews, and for an unknown device', async () => {
    const sim = await cli('devices', 'interview', 'sim:climate-01');
    expect(sim.code).toBe(2);
    expect(sim.stderr).toContain('adapter sim does not interview devices');
    const unknown = await cli('devices', 'interview', 'zigbee:0x00124b0000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no device zigbee:0x00124b0000000000');
  });

  it('pair: opens the window, shows the device that joins and its interview, then closes', async () => {
    const human = await cli('pair', '--adapter', 'sim', '--time', '2');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('pairing window open on sim');
    expect(human.stdout).toMatch(/\+ sim:paired-\d+ joined/);
    expect(human.stdout).toMatch(/✓ sim:paired-\d+ interviewed: fieldgate sim-climate/);
    expect(human.stdout).toContain('pairing window closed');

    const json = await cli('pair', '--adapter', 'sim', '--time', '2', '--json');
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(events.map((e) => e.event)).toEqual(['open', 'joined', 'updated', 'closed']);

    const bad = await cli('pair', '--adapter', 'sim', '--time', '999');
    expect(bad.code).toBe(2);
  });

  it('queue stats, dlq and replay', async () => {
    const stats = JSON.parse((await cli('queue', 'stats', '--json')).stdout) as {
      route: string;
      depth: number;
    }[];
    expect(stats[0]?.route).toBe('local');
    expect(typeof stats[0]?.depth).toBe('number');
    expect((await cli('queue', 'stats')).stdout).toMatch(/^ROUTE\s+DEPTH/);
    expect(JSON.parse((await cli('queue', 'dlq', 'local', '--json')).stdout)).toEqual([]);
    expect(JSON.parse((await cli('queue', 'replay', 'local', '--json')).stdout)).toEqual({
      route: 'local',
      replayed: 0,
    });
    const unknown = await cli('queue', 'dlq', 'nowhere');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no route nowhere');
  });

  it('tail --json streams live readings of the devices matching the glob', async () => {
    const child = spawn(process.execPath, [
      MAIN,
      'tail',
      '--json',
      '--device',
      'sim:climate-*',
      '--socket',
      daemon.socket,
    ]);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => out.split('\n').length > 5, 'five readings on tail');
    } finally {
      child.kill('SIGINT');
    }
    const readings = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Reading);
    expect(readings.every((r) => r.device.startsWith('sim:climate-'))).toBe(true);
  });

  it('send runs a command and prints its result; bad arguments are usage errors', async () => {
    const ok = await cli('send', 'sim:switch-01', 'toggle', '{}', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'ok' });
    expect((await cli('send', 'sim:switch-01', 'toggle', 'not-json')).code).toBe(2);
    expect((await cli('send', 'sim:switch-01', 'toggle', '{}', '--ttl', 'soon')).code).toBe(2);
  });

  it('exit codes: 69 when no daemon answers, 2 on bad usage, 78 on a bad config', async () => {
    const unreachable = await runCli(['status', '--socket', path.join(work.dir, 'none.sock')]);
    expect(unreachable.code).toBe(69);
    expect(unreachable.stderr).toContain('is it running?');
    expect((await runCli(['status', '--no-such-flag'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['status', '--config', path.join(work.dir, 'missing.yaml')])).code).toBe(78);
    expect((await runCli(['--help'])).stdout).toMatch(/69 +daemon unreachable/);
  });

  it('socket verbs read only control.socket: a typo elsewhere in the file does not stop them', async () => {
    const typo = path.join(work.dir, 'typo.yaml');
    await writeFile(
      typo,
      `control:\n  socket: ${path.relative(work.dir, daemon.socket)}\nqueue:\n  overflow: sideways\nadapters: [\n`,
    );
    expect((await runCli(['config', 'validate', typo])).code).toBe(78);
    for (const args of [['status'], ['devices'], ['queue', 'stats'], ['commands']]) {
      const viaFlag = await runCli([...args, '--config', typo]);
      expect(viaFlag.stderr, args.join(' ')).toBe('');
      expect(viaFlag.code, args.join(' ')).toBe(0);
    }
    const viaEnv = await runCli(['send', 'sim:switch-01', 'toggle'], {
      ...process.env,
      FIELDGATE_CONFIG: typo,
    });
    expect(viaEnv.stdout).toMatch(/^ok/);
    expect(viaEnv.code).toBe(0);
  });
});
