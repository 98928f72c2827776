import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { controlRequest } from '../../src/control/client.js';
import type { StatusSnapshot } from '../../src/health/status.js';
import { waitFor } from './support/daemon.js';
import { leaks, makeSecretFixture, type SecretFixture } from '../unit/config/secret-fixture.js';

/**
 * The real daemon, its secrets supplied by `!secret`, secret files and FIELDGATE__ variables: its start log,
 * `/readyz` over HTTP, and the status after a reload refused because every secret became invalid show none
 * of them.
 */

const MAIN = path.resolve('dist/src/main.js');
let fixture: SecretFixture;
let invalid: SecretFixture;
let output = '';
let daemon: ReturnType<typeof spawn>;

beforeAll(async () => {
  fixture = await makeSecretFixture('file', 'valid', {
    log: { level: 'debug' },
    metrics: { listen: '127.0.0.1:0' },
  });
  invalid = await makeSecretFixture('file', 'invalid');
  const env = { ...process.env, ...fixture.env };
  daemon = spawn(process.execPath, [MAIN, 'run', '--config', fixture.file], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  daemon.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(
    () => output.includes('fieldgate started.'),
    'daemon start',
    60_000,
    () => (daemon.exitCode !== null ? `daemon exited early:\n${output}` : undefined),
  );
}, 90_000);

afterAll(async () => {
  if (daemon.exitCode === null) {
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }
  await fixture.remove();
  await invalid.remove();
});

it('shows no secret in its logs, /readyz or status, also after refusing a reload of invalid secrets', async () => {
  // Let the routes fail to connect at least once, so their errors are in the status and the log.
  const socket = path.join(fixture.dir, 'control.sock');
  await waitFor(
    async () => {
      const status = await controlRequest<StatusSnapshot>(socket, 'GET', '/v1/status');
      return status.routes.every((r) => r.forwarder.failures > 0);
    },
    'routes to fail to connect',
    60_000,
  );
  // The same file, now with every secret invalid (the secrets.yaml and files beside it change too).
  await writeFile(fixture.file, await readFile(invalid.file, 'utf8'));
  for (const name of ['secrets.yaml']) {
    await writeFile(path.join(fixture.dir, name), await readFile(path.join(invalid.dir, name), 'utf8'), {
      mode: 0o600,
    });
  }
  daemon.kill('SIGHUP');
  await waitFor(() => output.includes('Reload failed'), 'the reload to be refused', 30_000);

  const address = /"address":"([^"]+)","msg":"Metrics endpoint listening/.exec(output)?.[1];
  expect(address).toBeDefined();
  const readyz = await (await fetch(`http://${address}/readyz`)).text();
  const status = await controlRequest<StatusSnapshot>(socket, 'GET', '/v1/status');
  expect(status.reload?.error).toContain('problems');

  const placed = [...fixture.placed, ...invalid.placed];
  expect(leaks(output, placed)).toEqual([]);
  expect(leaks(readyz, placed)).toEqual([]);
  expect(leaks(JSON.stringify(status), placed)).toEqual([]);
  expect(readyz).toContain('last reload failed');
}, 120_000);
