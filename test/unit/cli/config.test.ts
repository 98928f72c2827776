import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  registerConfigCommands,
  runConfigShow,
  runConfigValidate,
  MAX_LISTED_ISSUES,
  type CommandIo,
} from '../../../src/cli/config.js';
import { makeConfigDir, type ConfigDir } from '../config/config-dir.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/config');

/** Captures what a command writes. */
function captureIo(env: NodeJS.ProcessEnv = {}): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env,
    cwd: FIXTURES,
    out: () => out,
    err: () => err,
  };
}

describe('fieldgate config validate', () => {
  it('prints FILE: ok and returns 0 for a valid file', async () => {
    const io = captureIo();
    expect(await runConfigValidate('valid.yaml', {}, io)).toBe(0);
    expect(io.out()).toBe('valid.yaml: ok\n');
    expect(io.err()).toBe('');
  });

  it('prints a warning for an old key name on stderr and still returns 0', async () => {
    const dir = await makeConfigDir();
    try {
      const file = await dir.write(
        'old-names.yaml',
        [
          'adapters:',
          '  zb:',
          '    type: zigbee',
          '    coordinator: ember',
          '    port: /dev/ttyUSB0',
          '',
        ].join('\n'),
      );
      const io = captureIo();
      expect(await runConfigValidate(file, {}, io)).toBe(0);
      expect(io.out()).toBe(`${file}: ok\n`);
      expect(io.err()).toBe(
        `${file}:5:5: adapters.zb.port: warning: "port" is deprecated; rename it to "serialPort" (its value is used as "serialPort")\n`,
      );
      const json = captureIo();
      expect(await runConfigValidate(file, { json: true }, json)).toBe(0);
      expect(JSON.parse(json.out())).toMatchObject({
        valid: true,
        warnings: [{ file, line: 5, col: 5, path: 'adapters.zb.port' }],
      });
    } finally {
      await dir.remove();
    }
  });

  it('prints every issue on stderr and returns 78 for an invalid file', async () => {
    const io = captureIo();
    expect(await runConfigValidate('invalid.yaml', {}, io)).toBe(78);
    const lines = io.err().trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe(
      `${path.join(FIXTURES, 'invalid.yaml')}:7:14: adapters.sim.enabled: expected boolean, got "no" (YAML 1.2 reads yes/no/on/off as strings; write true or false)`,
    );
    expect(io.out()).toBe('');
  });

  it('prints { valid, errors } as JSON with --json', async () => {
    const io = captureIo();
    expect(await runConfigValidate('invalid.yaml', { json: true }, io)).toBe(78);
    const result = JSON.parse(io.out()) as { valid: boolean; errors: { path: string; line: number }[] };
    expect(result.valid).toBe(false);
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        path: 'routes.local.batchSize',
        line: 16,
        col: 5,
        message: 'unknown key "batchSize"',
      }),
    );

    const ok = captureIo();
    expect(await runConfigValidate('valid.yaml', { json: true }, ok)).toBe(0);
    expect(JSON.parse(ok.out())).toEqual({ valid: true, errors: [], warnings: [] });
  });

  it('lists the first 50 issues of a mangled file and counts the rest; --json keeps them all', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-validate-'));
    const file = path.join(dir, 'mangled.yaml');
    await writeFile(file, Array.from({ length: 120 }, (_, n) => `unknownKey${n}: ${n}\n`).join(''));
    try {
      const io = captureIo();
      expect(await runConfigValidate(file, {}, io)).toBe(78);
      const lines = io.err().trimEnd().split('\n');
      const all = captureIo();
      await runConfigValidate(file, { json: true }, all);
      const { errors } = JSON.parse(all.out()) as { errors: unknown[] };

      expect(errors).toHaveLength(120);
      expect(lines).toHaveLength(MAX_LISTED_ISSUES + 1);
      expect(lines[0]).toMatch(new RegExp(`^${file}:1:1: `));
      expect(lines.at(-1)).toBe(`${file}: …and ${errors.length - 50} more issues (--json lists them all)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('returns 78 with one issue for a file that does not exist', async () => {
    const io = captureIo();
    expect(await runConfigValidate('missing.yaml', { json: true }, io)).toBe(78);
    const result = JSON.parse(io.out()) as { errors: { message: string }[] };
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toMatch(/Cannot read the configuration file .*missing\.yaml/);
  });
});

describe('fieldgate config show', () => {
  let dir: ConfigDir;
  let file: string;
  beforeEach(async () => {
    dir = await makeConfigDir();
    await dir.write('secrets.yaml', 'broker-password: hunter2-long\n');
    file = await dir.write(
      'fieldgate.yaml',
      'routes:\n  local:\n    upstream:\n      type: mqtt\n      url: mqtt://127.0.0.1:1883\n      password: !secret broker-password\n      username: ${MQTT_USER}\n',
    );
  });
  afterEach(() => dir.remove());

  it('--effective prints defaults and overrides with every secret redacted', async () => {
    const io = captureIo({ MQTT_USER: 'gateway-user', FIELDGATE__QUEUE__OVERFLOW: 'block' });
    expect(await runConfigShow({ effective: true, config: file }, io)).toBe(0);
    expect(io.out()).not.toContain('hunter2-long');
    const shown = parse(io.out()) as {
      queue: { overflow: string; commitIntervalMs: number };
      routes: { local: { upstream: { password: string; username: string } } };
    };
    expect(shown.queue).toMatchObject({ overflow: 'block', commitIntervalMs: 200 });
    // A `${VAR}` is a secret where the key is one; a user name is not.
    expect(shown.routes.local.upstream).toMatchObject({ password: '[redacted]', username: 'gateway-user' });
  });

  it('--effective --json prints JSON', async () => {
    const io = captureIo({ MQTT_USER: 'gateway-user' });
    expect(await runConfigShow({ effective: true, config: file, json: true }, io)).toBe(0);
    const shown = JSON.parse(io.out()) as { routes: { local: { upstream: { password: string } } } };
    expect(shown.routes.local.upstream.password).toBe('[redacted]');
  });

  it('without --effective prints the file as written, references and all', async () => {
    const io = captureIo();
    expect(await runConfigShow({ config: file }, io)).toBe(0);
    expect(io.out()).toContain('password: !secret broker-password');
    const json = captureIo();
    expect(await runConfigShow({ config: file, json: true }, json)).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({
      routes: { local: { upstream: { password: '!secret broker-password', username: '${MQTT_USER}' } } },
    });
  });

  it('reports the issues and returns 78 when the effective config is invalid', async () => {
    const io = captureIo({});
    expect(await runConfigShow({ effective: true, config: file }, io)).toBe(78);
    expect(io.err()).toMatch(
      /fieldgate\.yaml:7:17: routes\.local\.upstream\.username: environment variable MQTT_USER/,
    );
    expect(io.out()).toBe('');
  });
});

describe('registerConfigCommands', () => {
  it('adds config validate and config show to the program', () => {
    const program = new Command('fieldgate');
    registerConfigCommands(program);
    const config = program.commands.find((command) => command.name() === 'config');
    expect(config?.commands.map((command) => command.name())).toEqual(['validate', 'show']);
    const show = config?.commands.find((command) => command.name() === 'show');
    expect(show?.options.map((option) => option.long)).toEqual(['--effective', '--config', '--json']);
  });
});
