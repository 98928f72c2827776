import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serialPortProblem } from '../../../../adapters/zigbee/serial-port-problem.js';

describe('serialPortProblem', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-port-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('names a serial device that does not exist', async () => {
    const port = path.join(dir, 'usb-Sonoff-if00');
    expect(await serialPortProblem(port)).toBe(
      `serial port ${port} does not exist (is the coordinator plugged in?)`,
    );
  });

  it('says nothing about a device that is there, a network coordinator or auto-detection', async () => {
    const port = path.join(dir, 'ttyACM0');
    await writeFile(port, '');
    expect(await serialPortProblem(port)).toBeUndefined();
    expect(await serialPortProblem('tcp://192.168.1.20:6638')).toBeUndefined();
    expect(await serialPortProblem(undefined)).toBeUndefined();
  });

  // root may open anything, so the permission case only means something for an ordinary user.
  it.skipIf(process.getuid?.() === 0)('names the group a forbidden device needs', async () => {
    const port = path.join(dir, 'ttyUSB0');
    await writeFile(port, '');
    await chmod(port, 0o000);
    expect(await serialPortProblem(port)).toMatch(/no permission .* dialout/);
  });
});
