import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { controlRequest } from '../../../src/control/client.js';
import type { StatusSnapshot } from '../../../src/health/status.js';

const MAIN = path.resolve('dist/src/main.js');

/** A temp directory holding a config file, the state dir and the control socket of one test daemon. */
export async function makeWorkdir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-it-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A small, fast config for tests: override what the test is about. */
export function testConfig(dir: string, brokerPort: number, overrides: Record<string, unknown> = {}) {
  return {
    gateway: { id: 'it', stateDir: path.join(dir, 'state') },
    log: { level: 'info' },
    control: { socket: path.join(dir, 'control.sock') },
    adapters: {
      sim: {
        type: 'sim',
        fleet: { climate: 3, switch: 1, contact: 0, sleepy: 1 },
        reportIntervalMs: 50,
        jitterMs: 10,
        wakeIntervalMs: 1500,
        awakeMs: 300,
        seed: 7,
      },
    },
    routes: {
      local: {
        upstream: { type: 'mqtt', url: `mqtt://127.0.0.1:${brokerPort}`, ackTimeoutMs: 2000 },
        batch: { maxItems: 50 },
        backoff: { initialMs: 100, maxMs: 500 },
      },
    },
    queue: { commitIntervalMs: 50 },
    ...overrides,
  };
}

export interface DaemonOptions {
  /** The daemon's RLIMIT_NOFILE (soft and hard, as `ulimit -n` sets them); the test runner's when absent. */
  fdLimit?: number;
  /** The daemon's environment (default: this process's), e.g. the systemd unit's `NODE_OPTIONS`. */
  env?: NodeJS.ProcessEnv;
  /** Run the daemon as this user (the test must run as root to do so). */
  user?: { uid: number; gid: number };
  /** The daemon's entry point (default: this checkout's `dist/src/main.js`), e.g. a release tree's. */
  main?: string;
}

export class Daemon {
  readonly process: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly configFile: string,
    readonly socket: string,
    options: DaemonOptions = {},
  ) {
    const argv = [process.execPath, options.main ?? MAIN, 'run', '--config', configFile];
    const env = options.env ?? process.env;
    // `exec` keeps the pid: signals reach the daemon, not a shell.
    this.process =
      options.fdLimit === undefined
        ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env, ...options.user })
        : spawn('/bin/sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, ...argv], {
            stdio: ['ignore', 'pipe', 'pipe'],
            env,
            ...options.user,
          });
    this.process.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.process.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
  }

  static async start(
    dir: string,
    config: Record<string, unknown>,
    options: DaemonOptions = {},
  ): Promise<Daemon> {
    const file = path.join(dir, 'fieldgate.yaml');
    await writeFile(file, stringify(config), { mode: 0o644 });
    const daemon = new Daemon(file, (config.control as { socket: string }).socket, options);
    await waitFor(
      () => daemon.output.includes('fieldgate started.'),
      `daemon start\n${daemon.output}`,
      30_000,
      () => (daemon.process.exitCode !== null ? `daemon exited early:\n${daemon.output}` : undefined),
    );
    return daemon;
  }

  status(): Promise<StatusSnapshot> {
    return controlRequest<StatusSnapshot>(this.socket, 'GET', '/v1/status');
  }

  async stop(): Promise<number | null> {
    if (this.process.exitCode === null) this.process.kill('SIGTERM');
    return this.exited;
  }

  async kill9(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  user?: { uid: number; gid: number },
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, ...user });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs` (generous: slow shared machines). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  abortIf?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    const abort = abortIf?.();
    if (abort !== undefined) throw new Error(abort);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
