import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorBox } from '../../../fakes/zigbee/coordinator-box.js';
import { Daemon, makeWorkdir, runCli, waitFor } from '../../support/daemon.js';
import path from 'node:path';

// The real daemon with herdsman's real deCONZ driver on a tcp:// coordinator whose connection keeps being
// cut (a ConBee behind ser2net that restarts). zigbee-herdsman 10.9.5 threw out of the socket's close
// event and the whole daemon died; now the driver reconnects, the daemon stays up and `fieldgate status`
// says what is wrong with exit 1.
describe('a deCONZ network coordinator whose connection is cut', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>> | undefined;
  let daemon: Daemon | undefined;
  let box: CoordinatorBox | undefined;

  afterEach(async () => {
    if (daemon?.process.exitCode === null) await daemon.kill9();
    await box?.powerOff();
    await work?.cleanup();
  });

  it('keeps the daemon running and makes status exit 1 with the reason', async () => {
    work = await makeWorkdir();
    box = new CoordinatorBox({ dropAfterMs: 200 });
    await box.powerOn();
    daemon = await Daemon.start(work.dir, {
      gateway: { id: 'it', stateDir: path.join(work.dir, 'state') },
      log: { level: 'info' },
      control: { socket: path.join(work.dir, 'control.sock') },
      adapters: { conbee: { type: 'zigbee', coordinator: 'deconz', serialPort: box.url } },
    });

    // The driver's connection was cut and it connected again: the daemon lived through the close.
    await waitFor(() => box!.connections >= 2, 'the deCONZ driver to reconnect', 60_000);
    expect(daemon.process.exitCode).toBeNull();

    // herdsman gives up on a firmware that never answers after 20 s: the adapter says so.
    await waitFor(
      async () => (await daemon!.status()).adapters.some((a) => a.state === 'unavailable'),
      'the Zigbee adapter to be reported unavailable',
      90_000,
    );
    const status = await runCli(['status', '--socket', daemon.socket]);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('Zigbee coordinator cannot be opened');
    expect(daemon.process.exitCode).toBeNull();

    // SIGTERM ends it, although herdsman's deCONZ adapter leaves a timer running.
    const exited = await Promise.race([
      daemon.stop(),
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 30_000)),
    ]);
    expect(exited).toBe(0);
  }, 180_000);
});
