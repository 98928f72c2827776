import { chmod, chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { StatusSnapshot } from '../../../src/health/status.js';
import { Daemon, testConfig, waitFor } from '../../integration/support/daemon.js';
import { Subscriber } from '../../integration/support/subscriber.js';

/** The unprivileged user the daemon runs as in these scenarios, as a service user would. */
export const SERVICE_USER = { uid: 65534, gid: 65534 };

/** Why the scenario cannot run here (it needs root to change users and mount), or undefined. */
export function needsRoot(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'needs root (to run the daemon as another user and to mount)';
}

export const routeOf = (status: StatusSnapshot) => status.routes[0]!.queue;

/**
 * A work dir laid out as a service user needs it: the config readable by all, the state dir and a run dir
 * (for the control socket) owned by `user`. Returns a config builder.
 */
export async function serviceLayout(workDir: string, user = SERVICE_USER) {
  await chmod(workDir, 0o755);
  const stateDir = path.join(workDir, 'state');
  const runDir = path.join(workDir, 'run');
  for (const dir of [stateDir, runDir]) {
    await mkdir(dir, { recursive: true });
    await chown(dir, user.uid, user.gid);
    await chmod(dir, 0o750);
  }
  const config = (port: number, isFleetRunning: boolean, queue: Record<string, unknown> = {}) => {
    const adapters = Object.fromEntries(
      Array.from({ length: 2 }, (_, i) => [
        `sim${i}`,
        {
          type: 'sim',
          enabled: isFleetRunning,
          fleet: { climate: 50, switch: 0, contact: 0, sleepy: 0 },
          reportIntervalMs: 0,
          batchSize: 100,
        },
      ]),
    );
    const base = testConfig(workDir, port, { adapters, queue: { commitIntervalMs: 100, ...queue } });
    return {
      ...base,
      gateway: { id: 'it', stateDir },
      control: { socket: path.join(runDir, 'control.sock') },
    };
  };
  return { stateDir, runDir, queueDir: path.join(stateDir, 'queue'), config };
}

/**
 * Runs the daemon with the fleet on and the upstream down until it reports `atLeast` readings committed,
 * then stops it (SIGTERM). Returns the committed count it last reported (the final flush may add more).
 */
export async function fillQueue(
  workDir: string,
  config: Record<string, unknown>,
  atLeast: number,
  user?: { uid: number; gid: number },
): Promise<number> {
  const daemon = await Daemon.start(workDir, config, { ...(user === undefined ? {} : { user }) });
  let committed = 0;
  try {
    await waitFor(
      async () => (committed = routeOf(await daemon.status()).appended) >= atLeast,
      `${atLeast} readings committed`,
      60_000,
    );
  } finally {
    await daemon.stop();
  }
  return committed;
}

/**
 * A life with the fleet off and the broker reachable: waits until the queue is empty and the subscriber has
 * everything, then stops. Returns the gateway sequence numbers that arrived and the depth it found at start.
 */
export async function drainAll(
  workDir: string,
  config: Record<string, unknown>,
  brokerPort: number,
  user?: { uid: number; gid: number },
): Promise<{ gseqs: Set<number>; depthAtStart: number; output: string; atStart: StatusSnapshot }> {
  const cloud = await Subscriber.connect(brokerPort);
  const daemon = await Daemon.start(workDir, config, { ...(user === undefined ? {} : { user }) });
  try {
    const atStart = await daemon.status();
    await waitFor(async () => routeOf(await daemon.status()).depth === 0, 'the drain', 120_000);
    let seen = -1;
    await waitFor(async () => {
      const settled = cloud.readings.length === seen;
      seen = cloud.readings.length;
      if (!settled) await new Promise((r) => setTimeout(r, 300));
      return settled;
    }, 'the last batch');
    return { gseqs: cloud.gseqs(), depthAtStart: routeOf(atStart).depth, output: daemon.output, atStart };
  } finally {
    await daemon.stop();
    await cloud.close();
  }
}
