import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeWorkdir, runCli } from '../support/daemon.js';

// The built CLI (dist/src/main.js), as a user runs it: no terminal, so init takes flags.
let work: Awaited<ReturnType<typeof makeWorkdir>>;
let fakeRoots: string[];
// Not under systemd, and no credential directory of this machine in the way.
const env = { PATH: process.env.PATH ?? '', FIELDGATE_CREDENTIALS_DIR: '/nonexistent/fieldgate-credentials' };

beforeEach(async () => {
  work = await makeWorkdir();
  const byId = path.join(work.dir, 'dev/serial/by-id');
  await mkdir(byId, { recursive: true });
  await symlink('../../ttyACM0', path.join(byId, 'usb-dresden_elektronik_ConBee_III_DE03188111-if00-port0'));
  await symlink('../../ttyUSB0', path.join(byId, 'usb-Zooz_800_Z-Wave_Stick_533D004242-if00'));
  await mkdir(path.join(work.dir, 'sys/class/bluetooth/hci0'), { recursive: true });
  fakeRoots = [
    '--serial-dir',
    byId,
    '--bluetooth-dir',
    path.join(work.dir, 'sys/class/bluetooth'),
    '--credentials-dir',
    path.join(work.dir, 'credentials'),
  ];
});

afterEach(() => work.cleanup());

async function initThenValidate(args: string[]) {
  const file = path.join(work.dir, 't.yaml');
  const init = await runCli(['init', ...args, '--output', file, ...fakeRoots], env);
  expect(init.stderr).not.toMatch(/bug|TypeError/);
  expect(init.code, init.stderr).toBe(0);
  const validate = await runCli(['config', 'validate', file], env);
  expect(validate.code, validate.stderr).toBe(0);
  const text = await readFile(file, 'utf8');
  return { file, text, written: parse(text) as { adapters?: Record<string, { type: string }> } };
}

describe('fieldgate init, then config validate', () => {
  it('--cloud mqtt: valid as written, and no simulated device, no radio nobody asked for', async () => {
    const { written } = await initThenValidate(['--cloud', 'mqtt']);
    expect(written.adapters).toBeUndefined();
    expect(written).not.toHaveProperty('emulators');
  });

  it('--cloud mqtt with a password and every radio: the password only in a 0600 credential file', async () => {
    const { text, written } = await initThenValidate([
      '--cloud',
      'mqtt',
      '--url',
      'mqtts://broker.example:8883',
      '--username',
      'gw',
      '--password',
      'not-in-the-yaml',
      '--radio',
      'zigbee',
      '--radio',
      'zwave',
      '--radio',
      'ble',
    ]);
    expect(text).not.toContain('not-in-the-yaml');
    expect(Object.values(written.adapters ?? {}).map((a) => a.type)).toEqual(['zigbee', 'zwave', 'ble']);
    expect(Object.values(written.adapters ?? {}).some((a) => a.type === 'sim')).toBe(false);
    const credential = path.join(work.dir, 'credentials/mqtt-password');
    expect((await stat(credential)).mode & 0o777).toBe(0o600);
    expect((await readFile(credential, 'utf8')).trim()).toBe('not-in-the-yaml');
  });

  it('--cloud azure with a connection string', async () => {
    const { text } = await initThenValidate([
      '--cloud',
      'azure',
      '--connection-string',
      'HostName=hub.azure-devices.net;DeviceId=gw;SharedAccessKey=c2VjcmV0LWtleS1tYXRlcmlhbA==',
    ]);
    expect(text).not.toContain('SharedAccessKey=');
  });

  it('--cloud azure with host name, device id and key', async () => {
    const { text } = await initThenValidate([
      '--cloud',
      'azure',
      '--host-name',
      'hub.azure-devices.net',
      '--device-id',
      'gw',
      '--shared-access-key',
      'c2VjcmV0LWtleS1tYXRlcmlhbA==',
    ]);
    expect(text).not.toContain('c2VjcmV0LWtleS1tYXRlcmlhbA==');
  });

  it('--cloud aws with endpoint, certificate and key', async () => {
    await initThenValidate([
      '--cloud',
      'aws',
      '--endpoint',
      'abc123-ats.iot.eu-west-1.amazonaws.com',
      '--cert-file',
      path.join(work.dir, 'device.pem.crt'),
      '--key-file',
      path.join(work.dir, 'private.pem.key'),
    ]);
  });
});

describe('fieldgate init refuses rather than guesses', () => {
  it('does not replace an existing file without --force', async () => {
    const file = path.join(work.dir, 'mine.yaml');
    await writeFile(file, 'log: {level: debug}\n');
    const refused = await runCli(['init', '--cloud', 'mqtt', '--output', file, ...fakeRoots], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${file} exists; nothing written (add --force to replace it)`);
    expect(await readFile(file, 'utf8')).toBe('log: {level: debug}\n');

    const forced = await runCli(['init', '--cloud', 'mqtt', '--output', file, '--force', ...fakeRoots], env);
    expect(forced.code, forced.stderr).toBe(0);
  });

  it('names the missing flags for a cloud', async () => {
    const aws = await runCli(['init', '--cloud', 'aws', ...fakeRoots], env);
    expect(aws.code).toBe(2);
    expect(aws.stderr).toContain('--cloud aws needs --endpoint');
  });
});
