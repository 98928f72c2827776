import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';
import { Subscriber } from '../support/subscriber.js';

const MAIN = path.resolve('dist/src/main.js');
// `script` (util-linux) gives the daemon a pseudo-terminal, as a person's shell would.
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

/**
 * Runs `fieldgate run` until it has started, then SIGTERM; returns what it wrote. `wrap` builds the
 * command line (a pty via `script`); the daemon's pid comes from a pid file, since `script` stands between.
 */
async function runUntilStarted(
  dir: string,
  config: Record<string, unknown>,
  options: { args?: string[]; env?: NodeJS.ProcessEnv; isPty?: boolean; stdoutFile?: string } = {},
): Promise<string> {
  const configFile = path.join(dir, 'fieldgate.yaml');
  const pidFile = path.join(dir, 'daemon.pid');
  await writeFile(configFile, stringify(config));
  const run = [process.execPath, MAIN, 'run', '--config', configFile, ...(options.args ?? [])];
  const shell = `echo $$ > '${pidFile}'; exec ${run.map((a) => `'${a}'`).join(' ')}`;
  const fd = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'w');
  const child = options.isPty
    ? spawn('script', ['-qec', `sh -c "${shell.replaceAll('"', '\\"')}"`, '/dev/null'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: options.env ?? process.env,
      })
    : spawn('/bin/sh', ['-c', shell], {
        stdio: ['ignore', fd ?? 'pipe', 'pipe'],
        env: options.env ?? process.env,
      });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const current = async () =>
    options.stdoutFile === undefined ? output : output + (await readFile(options.stdoutFile, 'utf8'));
  try {
    await waitFor(
      async () => (await current()).includes('fieldgate started.'),
      'the daemon to start',
      30_000,
      () => (child.exitCode !== null ? `exited early:\n${output}` : undefined),
    );
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    process.kill(pid, 'SIGTERM');
    await exited;
    return await current();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    if (fd !== undefined) closeSync(fd);
  }
}

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');

const isJson = (line: string) => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

/** Without NO_COLOR the pretty form is coloured on a terminal; the escapes are not what is asserted. */
const plain = (text: string) => stripVTControlCharacters(text);

describe('log formats of the real daemon', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Awaited<ReturnType<typeof startMqttBroker>>;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  });

  afterEach(async () => {
    await broker.close();
    await work.cleanup();
  });

  it.skipIf(!HAS_SCRIPT)('on a terminal: lines with a time and a level word, not JSON', async () => {
    const output = await runUntilStarted(work.dir, testConfig(work.dir, broker.port), { isPty: true });
    const first = lines(plain(output)).slice(0, 3);
    expect(first).toHaveLength(3);
    for (const line of first) {
      expect(isJson(line)).toBe(false);
      expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|DEBUG):/);
    }
    expect(plain(output)).toMatch(/INFO: fieldgate started\. gateway=it/);
  });

  it('piped with --log-format json: every line is JSON', async () => {
    const env = { ...process.env, NO_COLOR: '1' };
    const output = await runUntilStarted(work.dir, testConfig(work.dir, broker.port), {
      args: ['--log-format', 'json'],
      env,
    });
    const all = lines(output);
    expect(all.length).toBeGreaterThan(3);
    for (const line of all) expect(isJson(line)).toBe(true);
  });

  it.skipIf(!HAS_SCRIPT)('--log-format json wins over a terminal', async () => {
    const output = await runUntilStarted(work.dir, testConfig(work.dir, broker.port), {
      args: ['--log-format', 'json'],
      isPty: true,
    });
    expect(isJson(lines(output)[0]!)).toBe(true);
  });

  it('with stdout connected to the journal ($JOURNAL_STREAM): sd-daemon priority prefixes', async () => {
    // What systemd does: JOURNAL_STREAM names the device and inode of the service's stdout.
    const stdoutFile = path.join(work.dir, 'journal-stream');
    closeSync(openSync(stdoutFile, 'w'));
    const stat = statSync(stdoutFile, { bigint: true });
    const env = { ...process.env, JOURNAL_STREAM: `${stat.dev}:${stat.ino}` };
    const output = await runUntilStarted(work.dir, testConfig(work.dir, broker.port), { env, stdoutFile });
    const all = lines(await readFile(stdoutFile, 'utf8'));
    expect(all.length).toBeGreaterThan(3);
    for (const line of all) expect(line).toMatch(/^<[0-7]>/);
    expect(all).toContain('<6>fieldgate started. gateway=it adapters=1 routes=1');
    expect(output).not.toMatch(/"level":/);
  });

  it('with $JOURNAL_STREAM inherited but stdout a pipe: JSON', async () => {
    const env = { ...process.env, JOURNAL_STREAM: '8:12345' };
    const output = await runUntilStarted(work.dir, testConfig(work.dir, broker.port), { env });
    for (const line of lines(output)) expect(isJson(line)).toBe(true);
  });
});

describe('lifecycle lines of the real daemon (sim fleet, MQTT emulator)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Awaited<ReturnType<typeof startMqttBroker>>;
  let cloud: Subscriber;
  let daemon: Daemon;

  afterEach(async () => {
    await cloud.close();
    await daemon.stop();
    await broker.close();
    await work.cleanup();
  });

  it('upstream connected, command received and its result, configuration reloaded: one INFO line each', async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    cloud = await Subscriber.connect(broker.port);
    const config = testConfig(work.dir, broker.port);
    daemon = await Daemon.start(work.dir, config);
    const logged = () =>
      lines(daemon.output)
        .filter(isJson)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => logged().some((l) => l.msg === 'Upstream connected.'), 'the upstream to connect');

    await cloud.publishCommand('it', { id: 'c-log', device: 'sim:switch-01', name: 'on' });
    await waitFor(() => cloud.results.some((r) => r.id === 'c-log'), 'the result of c-log');
    await waitFor(() => logged().some((l) => l.msg === 'Command finished.'), 'the result line');

    daemon.process.kill('SIGHUP');
    await waitFor(() => logged().some((l) => l.msg === 'Configuration reloaded.'), 'the reload line');

    const lifecycle = logged().filter((l) =>
      ['Upstream connected.', 'Command received.', 'Command finished.', 'Configuration reloaded.'].includes(
        l.msg as string,
      ),
    );
    expect(lifecycle).toMatchObject([
      { level: 30, msg: 'Upstream connected.', component: 'forwarder', route: 'local' },
      { level: 30, msg: 'Command received.', commandId: 'c-log', device: 'sim:switch-01', route: 'local' },
      { level: 30, msg: 'Command finished.', commandId: 'c-log', status: 'ok' },
      { level: 30, msg: 'Configuration reloaded.' },
    ]);
    // Every line names each of its keys once.
    for (const line of lines(daemon.output).filter(isJson))
      expect(line.match(/"component":/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });
});
