import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';

const run = promisify(execFile);
const MAIN = path.resolve('dist/src/main.js');

type Broker = Awaited<ReturnType<typeof startMqttBroker>>;

/**
 * `fieldgate top` in a real terminal: tmux runs it at 80×24 against a real daemon, and `capture-pane` reads
 * the screen as an operator over SSH would see it. tmux comes from `npm run test:deps`.
 */
describe('fieldgate top in a terminal (tmux, real daemon)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Broker | undefined;
  let daemon: Daemon | undefined;
  // A server of our own, so the test never touches a tmux the machine's user runs.
  const tmuxServer = `fieldgate-top-${process.pid}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', tmuxServer, ...args]);
  const screen = async () => (await tmux('capture-pane', '-p', '-t', 'top')).stdout;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  });

  afterEach(async () => {
    await tmux('kill-server').catch(() => undefined);
    await daemon?.stop();
    await broker?.close();
    await work.cleanup();
    daemon = broker = undefined;
  });

  it('shows the route and its backlog, follows a broker outage, and quits cleanly on q', async () => {
    const port = broker!.port;
    daemon = await Daemon.start(work.dir, testConfig(work.dir, port));
    // After top exits, the shell prints its exit code on the restored screen and keeps the pane open.
    const command = `NO_COLOR=1 LANG=C.UTF-8 ${process.execPath} ${MAIN} top --socket ${daemon.socket}; echo "top exited $?"; sleep 60`;
    await tmux('new-session', '-d', '-s', 'top', '-x', '80', '-y', '24', command);

    await waitFor(
      async () => /local {2}connected for \S+ {2}\d/.test(await screen()),
      'top to show the route connected',
    );
    let text = await screen();
    expect(text).toMatch(/backlog \d+ \(/);
    expect(text).toMatch(/sim \(sim\) {2}running {2}\d\/5 online/);
    expect(text).toContain('q quit');
    await waitFor(async () => /BUSIEST[^\n]*\n {2}sim:/.test(await screen()), 'the busiest devices');

    await broker!.close();
    broker = undefined;
    await waitFor(
      async () => /local {2}(connecting|backoff) for/.test(await screen()),
      'top to show the outage',
    );
    await waitFor(
      async () => /backlog [1-9][\d,]* \(.*peak [1-9]/.test(await screen()),
      'the backlog to grow on screen',
    );
    text = await screen();
    expect(text).toContain('NOT healthy');
    expect(text).toMatch(/‼ .*(ECONNREFUSED|closed)/);

    broker = await startMqttBroker({ host: '127.0.0.1', port, log: silentLogger() });
    await waitFor(
      async () => /local {2}connected for/.test(await screen()),
      'top to show the route back',
      60_000,
    );

    await tmux('send-keys', '-t', 'top', 'd');
    await waitFor(async () => /DEVICE +NAME +STATE +LAST SEEN/.test(await screen()), 'the device list');
    await tmux('send-keys', '-t', 'top', 't');
    await waitFor(async () => /\d\d:\d\d:\d\d\.\d{3} {2}sim:/.test(await screen()), 'the live tail');

    await tmux('send-keys', '-t', 'top', 'q');
    await waitFor(async () => (await screen()).includes('top exited 0'), 'top to exit');
    // The alternate screen is gone: nothing of top's frame is left on the terminal.
    expect(await screen()).not.toContain('q quit');
  });

  it('prints one frame with --once, and says what to use where there is no terminal', async () => {
    daemon = await Daemon.start(work.dir, testConfig(work.dir, broker!.port));
    await waitFor(async () => (await daemon!.status()).routes[0]?.forwarder.state === 'idle', 'the route');

    const once = await runCli(['top', '--once', '--socket', daemon.socket], {
      ...process.env,
      NO_COLOR: '1',
    });
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/local {2}connected/);
    expect(once.stdout).not.toContain('q quit');

    const piped = await runCli(['top', '--socket', daemon.socket]);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain('fieldgate top needs a terminal');

    await daemon.stop();
    const down = await runCli(['top', '--once', '--socket', daemon.socket]);
    expect(down.code).toBe(69);
    expect(down.stderr).toContain('cannot reach the daemon');
  });
});
