import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { checkClock, checkSocket, runChecks } from '../../../src/health/doctor.js';

describe('doctor', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-doctor-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('fails an unwritable state dir, with a hint to fix it', async () => {
    // A path under a regular file cannot be created, even by root (who ignores permission bits).
    await writeFile(path.join(dir, 'file'), '');
    const config = configSchema.parse({
      gateway: { stateDir: path.join(dir, 'file', 'state') },
      control: { socket: '' },
    });
    const results = await runChecks(config);
    const state = results.find((r) => r.name === 'state dir');
    expect(state?.level).toBe('fail');
    expect(state?.detail).toContain('is not writable');
    expect(state?.hint).toMatch(/chown -R fieldgate:fieldgate/);
    expect(results.find((r) => r.name === 'clock')?.level).toBe('ok');
  });

  it.each([
    ['zwave', {}],
    ['zigbee', { coordinator: 'ember' }],
  ])('checks the %s stick at serialPort, the key the radio reads', async (type, extra) => {
    const serialPort = path.join(dir, 'ttyACM7');
    const config = configSchema.parse({
      gateway: { stateDir: dir },
      control: { socket: '' },
      adapters: { radio: { type, serialPort, ...extra } },
    });
    const missing = (await runChecks(config)).find((r) => r.name === 'radio radio');
    expect(missing).toMatchObject({ level: 'fail', detail: `serialPort ${serialPort} not found` });
    await writeFile(serialPort, '');
    const present = (await runChecks(config)).find((r) => r.name === 'radio radio');
    expect(present).toMatchObject({ level: 'ok', detail: `${serialPort} present` });
  });

  it('passes the shipped demo config: its route goes to the daemon’s own broker', async () => {
    const { loadConfig } = await import('../../../src/config/load.js');
    const { config } = await loadConfig('config/demo.yaml');
    const demo = configSchema.parse({
      ...config,
      gateway: { ...config.gateway, stateDir: dir },
      // A port nothing listens on: the daemon is not running, so neither is its broker.
      emulators: { mqtt: { ...config.emulators.mqtt, port: 1 } },
      routes: { local: { upstream: { type: 'mqtt', url: 'mqtt://127.0.0.1:1' } } },
      control: { socket: '' },
    });
    const results = await runChecks(demo);
    expect(results.filter((r) => r.level === 'fail')).toEqual([]);
    expect(results.find((r) => r.name === 'cloud local')?.detail).toContain('demo broker');
  });

  it('fails the demo config when another program holds the demo broker’s port and the daemon is down', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const config = configSchema.parse({
        gateway: { stateDir: dir },
        control: { socket: path.join(dir, 'control.sock') },
        emulators: { mqtt: { enabled: true, host: '127.0.0.1', port } },
        routes: { local: { upstream: { type: 'mqtt', url: `mqtt://127.0.0.1:${port}` } } },
      });
      const cloud = (await runChecks(config)).find((r) => r.name === 'cloud local');
      expect(cloud).toMatchObject({ level: 'fail' });
      expect(cloud?.detail).toContain('taken by another program');
    } finally {
      holder.close();
    }
  });

  it('reports a check that throws as "check failed" and still runs the others', async () => {
    const config = configSchema.parse({
      gateway: { stateDir: dir },
      control: { socket: '' },
      routes: {
        local: {
          upstream: {
            type: 'mqtt',
            url: 'mqtts://127.0.0.1:1',
            tls: { certFile: path.join(dir, 'nope.pem') },
          },
        },
      },
    });
    const results = await runChecks(config);
    expect(results.find((r) => r.name === 'check')?.detail).toMatch(/^check failed: .*ENOENT/);
    expect(results.find((r) => r.name === 'clock')?.level).toBe('ok');
  });

  it('fails a clock that was never set', () => {
    const clock = checkClock(Date.UTC(1970, 0, 1, 0, 5));
    expect(clock.level).toBe('fail');
    expect(clock.hint).toMatch(/NTP/);
  });

  it('fails a world-accessible socket and accepts 0660 in a 0750 directory', async () => {
    const socketDir = path.join(dir, 'run');
    await mkdir(socketDir, { mode: 0o750 });
    const socketPath = path.join(socketDir, 'control.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      await chmod(socketPath, 0o666);
      expect(await checkSocket(socketPath)).toMatchObject({ level: 'fail' });
      await chmod(socketPath, 0o660);
      expect(await checkSocket(socketPath)).toMatchObject({ level: 'ok' });
    } finally {
      server.close();
    }
    const missing = await checkSocket(path.join(dir, 'none.sock'));
    expect(missing.level).toBe('warn');
    expect(missing.hint).toMatch(/systemctl start/);
  });
});
