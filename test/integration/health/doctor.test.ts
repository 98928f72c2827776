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

  it('fails a serial port that is not there', async () => {
    const config = configSchema.parse({
      gateway: { stateDir: dir },
      control: { socket: '' },
      adapters: {
        zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: path.join(dir, 'ttyUSB9') },
      },
    });
    const radio = (await runChecks(config)).find((r) => r.name === 'radio zigbee');
    expect(radio?.level).toBe('fail');
    expect(radio?.hint).toContain('/dev/serial/by-id');
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
