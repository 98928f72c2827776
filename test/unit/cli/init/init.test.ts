import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runInit, type InitIo, type InitOptions } from '../../../../src/cli/init.js';
import { renderConfig, type InitAnswers } from '../../../../src/cli/init/render.js';
import { loadConfig } from '../../../../src/config/load.js';

const CONBEE = 'usb-dresden_elektronik_ingenieurtechnik_GmbH_ConBee_II_DE2132111-if00';
const ZSTICK = 'usb-0658_0200-if00';

describe('renderConfig', () => {
  const viaStore = (name: string) => `\${CREDENTIALS_DIRECTORY}/${name}`;

  it('keeps every secret out of the YAML and hands it back as a credential', () => {
    const answers: InitAnswers = {
      cloud: { kind: 'mqtt', url: 'mqtts://broker:8883', username: 'gw', password: 'hunter2-secret' },
      radios: [],
      sim: false,
    };
    const { yaml, credentials } = renderConfig(answers, viaStore);
    expect(yaml).not.toContain('hunter2-secret');
    expect(credentials).toEqual([{ name: 'mqtt-password', value: 'hunter2-secret' }]);
    expect(parse(yaml)).toEqual({
      routes: {
        cloud: {
          upstream: {
            type: 'mqtt',
            url: 'mqtts://broker:8883',
            username: 'gw',
            passwordFile: '${CREDENTIALS_DIRECTORY}/mqtt-password',
          },
        },
      },
    });
  });

  it('writes the radios it was given, and the simulated fleet only when asked', () => {
    const answers: InitAnswers = {
      cloud: { kind: 'azure', hostName: 'hub.azure-devices.net', deviceId: 'gw', sharedAccessKey: 'a2V5' },
      radios: [
        { kind: 'zigbee', stick: { path: '/dev/serial/by-id/x', coordinator: 'ember', rtscts: false } },
        { kind: 'zwave', serialPort: '/dev/serial/by-id/y' },
        { kind: 'ble', hciDevice: 1 },
      ],
      sim: false,
    };
    const written = parse(renderConfig(answers, viaStore).yaml) as { adapters: Record<string, unknown> };
    expect(written.adapters).toEqual({
      zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: '/dev/serial/by-id/x', rtscts: false },
      zwave: { type: 'zwave', serialPort: '/dev/serial/by-id/y' },
      ble: { type: 'ble', hciDevice: 1 },
    });
    const withSim = parse(renderConfig({ ...answers, sim: true }, viaStore).yaml) as typeof written;
    expect(Object.keys(withSim.adapters)).toContain('sim');
  });
});

describe('runInit', () => {
  let root: string;
  let out: string;
  let err: string;
  const io = (overrides: Partial<InitIo> = {}): InitIo => ({
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    isRoot: false,
    cwd: root,
    env: {},
    ...overrides,
  });
  const options = (overrides: Partial<InitOptions> = {}): InitOptions => ({
    radio: [],
    serialDir: path.join(root, 'by-id'),
    bluetoothDir: path.join(root, 'bluetooth'),
    ...overrides,
  });

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-init-'));
    out = '';
    err = '';
    await mkdir(path.join(root, 'by-id'));
    await symlink('../ttyACM0', path.join(root, 'by-id', CONBEE));
    await symlink('../ttyUSB0', path.join(root, 'by-id', ZSTICK));
    await mkdir(path.join(root, 'bluetooth/hci0'), { recursive: true });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('on a terminal asks, offers the sticks and the controller it found, and writes a valid file', async () => {
    const replies = ['mqtt', '', 'gw', 'pw-typed', 'y', 'n', 'y', 'gw.yaml'];
    const questions: string[] = [];
    const ask = (question: string) => {
      questions.push(question);
      return Promise.resolve(replies.shift() ?? '');
    };

    expect(await runInit(options(), io({ ask }))).toBe(0);

    expect(questions.join('\n')).toMatch(/ConBee II/);
    const file = path.join(root, 'gw.yaml');
    const { config } = await loadConfig(file, { env: {} });
    expect(Object.keys(config.adapters).sort()).toEqual(['ble', 'zwave']);
    const upstream = config.routes.cloud!.upstream;
    expect(upstream.type === 'mqtt' && upstream.password).toBe('pw-typed');
    expect(await readFile(file, 'utf8')).not.toContain('pw-typed');
    // Not root: the credential sits beside the config, private.
    const credential = await stat(path.join(root, 'credentials/mqtt-password'));
    expect(credential.mode & 0o777).toBe(0o600);
    expect(out).toContain(`wrote ${file}; it is valid`);
  });

  it('without a terminal takes flags; a radio asked for but absent is a usage error naming the flag', async () => {
    await rm(path.join(root, 'by-id'), { recursive: true });
    await expect(runInit(options({ cloud: 'mqtt', radio: ['zigbee'] }), io())).rejects.toMatchObject({
      code: 'FG_USAGE',
      message: expect.stringContaining('--zigbee-port and --zigbee-coordinator') as unknown,
    });
  });

  it('names the sticks it found but was not asked to use', async () => {
    expect(await runInit(options({ cloud: 'mqtt' }), io())).toBe(0);
    expect(parse(out)).not.toHaveProperty('adapters');
    expect(err).toContain(`found dresden elektronik ConBee II at ${path.join(root, 'by-id', CONBEE)}`);
    expect(err).toContain('add --radio zigbee');
  });
});
