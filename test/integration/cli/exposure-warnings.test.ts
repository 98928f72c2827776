import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Daemon, makeWorkdir, runCli, waitFor } from '../support/daemon.js';

interface LogLine {
  level: number;
  msg: string;
  setting?: string;
  url?: string;
}

/** Connects once, no retries; resolves `connected` or the error the broker's refusal raised. */
function tryConnect(url: string, credentials: { username?: string; password?: string }) {
  return new Promise<string>((resolve) => {
    const client = mqtt.connect(url, { ...credentials, reconnectPeriod: 0, connectTimeout: 10_000 });
    client.once('connect', () => {
      client.end(true);
      resolve('connected');
    });
    client.once('error', (e) => {
      client.end(true);
      resolve(e.message);
    });
  });
}

describe('a daemon with a network-wide metrics bind and a TLS relaxation', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let daemon: Daemon;
  let configFile: string;
  const lines = () =>
    daemon.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);

  beforeAll(async () => {
    work = await makeWorkdir();
    configFile = path.join(work.dir, 'fieldgate.yaml');
    const config = {
      gateway: { id: 'exposed', stateDir: path.join(work.dir, 'state') },
      control: { socket: path.join(work.dir, 'control.sock') },
      // Port 0: a free port; the address is what the test is about.
      metrics: { listen: '0.0.0.0:0' },
      routes: {
        cloud: {
          // Nothing listens there; the route only has to be configured.
          upstream: { type: 'mqtt', url: 'mqtts://127.0.0.1:1', tls: { rejectUnauthorized: false } },
          backoff: { initialMs: 1000, maxMs: 5000 },
        },
      },
      emulators: { mqtt: { enabled: true, host: '127.0.0.1', port: 0, username: 'demo' } },
    };
    // The password comes from the secret store, as a user would write it.
    const text = `${stringify(config)}`.replace(
      /^( {4}username: demo\n)/m,
      '$1    password: !secret demo-broker-password\n',
    );
    expect(text).toContain('!secret demo-broker-password');
    await writeFile(configFile, text);
    await writeFile(path.join(work.dir, 'secrets.yaml'), 'demo-broker-password: hunter2-demo\n', {
      mode: 0o600,
    });
    daemon = new Daemon(configFile, config.control.socket);
    await waitFor(
      () => daemon.output.includes('fieldgate started.'),
      `daemon start\n${daemon.output}`,
      30_000,
      () => (daemon.process.exitCode !== null ? `daemon exited early:\n${daemon.output}` : undefined),
    );
  });

  afterAll(async () => {
    await daemon?.stop();
    await work.cleanup();
  });

  it('logs one WARN per exposure at start, naming the config key', () => {
    const warnings = lines().filter((l) => l.level === 40 && l.setting !== undefined);
    expect(warnings.map((l) => l.setting)).toEqual([
      'metrics.listen',
      'routes.cloud.upstream.tls.rejectUnauthorized',
    ]);
    expect(warnings[0]!.msg).toMatch(/reachable from the network, without authentication/);
    expect(warnings[1]!.msg).toMatch(/does not verify the server's TLS certificate/);
  });

  it('doctor lists the same settings as warnings', async () => {
    const { stdout } = await runCli(['doctor', '--json', '--config', configFile]);
    const report = JSON.parse(stdout) as { checks: { name: string; level: string; detail: string }[] };
    const exposure = report.checks.filter((c) => c.name === 'exposure');
    expect(exposure.map((c) => [c.level, c.detail.split(':')[0]])).toEqual([
      ['warn', 'metrics.listen'],
      ['warn', 'routes.cloud.upstream.tls.rejectUnauthorized'],
    ]);
  });

  it('the demo broker takes only the configured login, and never logs the password', async () => {
    const url = lines().find((l) => l.msg === 'MQTT broker listening.')?.url;
    expect(url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(await tryConnect(url!, {})).not.toBe('connected');
    expect(await tryConnect(url!, { username: 'demo', password: 'wrong' })).not.toBe('connected');
    expect(await tryConnect(url!, { username: 'demo', password: 'hunter2-demo' })).toBe('connected');
    expect(daemon.output).not.toContain('hunter2-demo');
  });
});
