import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { createNotifier } from '../../../src/ops/sd-notify.js';
import { waitFor } from '../../fakes/wait-for.js';

/** A stand-in for PID 1's notify socket: Node has no unix datagram sockets, so python3 receives. */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`;

describe('sd_notify', () => {
  let dir: string;
  let receiver: ChildProcess;
  let received: string[];
  let socketPath: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-notify-'));
    socketPath = path.join(dir, 'notify.sock');
    received = [];
    receiver = spawn('python3', ['-c', RECEIVER, socketPath]);
    receiver.stdout!.on('data', (c: Buffer) => received.push(...c.toString().trim().split('\n')));
    await waitFor(() => received.includes('bound'), 'the receiver to bind');
  });

  afterEach(async () => {
    receiver.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('is a no-op outside systemd (no NOTIFY_SOCKET)', async () => {
    const notifier = await createNotifier({ env: {}, log: silentLogger() });
    expect(notifier.transport).toBe('none');
    await notifier.notify({ READY: '1' });
  });

  it('sends through systemd-notify under systemd, and the messages arrive', async () => {
    const notifier = await createNotifier({
      env: { ...process.env, NOTIFY_SOCKET: socketPath },
      log: silentLogger(),
    });
    expect(notifier.transport).toBe('cli');
    await notifier.notify({ READY: '1', STATUS: 'local: connected · 3 devices' });
    await notifier.notify({ WATCHDOG: '1' });
    await waitFor(() => received.some((m) => m.includes('WATCHDOG=1')), 'the watchdog ping');
    expect(received).toContain('READY=1|STATUS=local: connected · 3 devices');
  });
});
