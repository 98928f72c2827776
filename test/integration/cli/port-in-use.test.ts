import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Daemon, makeWorkdir, testConfig } from '../support/daemon.js';

/** The route's broker: nothing answers there (port 1 is privileged and unused); the holder must get no client. */
const UNUSED_BROKER_PORT = 1;
/** Generous bound on a hang, not a timing assertion: a failed start ends in well under a second. */
const EXIT_WITHIN_MS = 10_000;

/**
 * A listen address the daemon needs is taken (Mosquitto on the demo broker's 1883, something on the metrics
 * port): the daemon must end promptly with the reason and exit 78, never hang ignoring SIGTERM.
 */
describe('a port the daemon listens on is already taken', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let holder: net.Server;
  let port: number;

  beforeEach(async () => {
    work = await makeWorkdir();
    holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    await new Promise((resolve) => holder.close(resolve));
    await work.cleanup();
  });

  /** Starts the daemon and waits for it to exit; SIGKILLs it (and fails) if it is still there after the bound. */
  async function exitOf(
    overrides: Record<string, unknown>,
  ): Promise<{ code: number | null; output: string }> {
    const daemon = new Daemon(await writeConfig(overrides), '');
    const killer = setTimeout(() => daemon.process.kill('SIGKILL'), EXIT_WITHIN_MS);
    const code = await daemon.exited;
    clearTimeout(killer);
    return { code, output: daemon.output };
  }

  async function writeConfig(overrides: Record<string, unknown>): Promise<string> {
    const { writeFile } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    const file = `${work.dir}/fieldgate.yaml`;
    await writeFile(file, stringify({ ...testConfig(work.dir, UNUSED_BROKER_PORT), ...overrides }));
    return file;
  }

  it('the demo MQTT broker: exits 78 saying which setting and what holds it', async () => {
    const { code, output } = await exitOf({
      emulators: { mqtt: { enabled: true, host: '127.0.0.1', port } },
    });
    expect(output).toContain(`emulators.mqtt: the demo MQTT broker cannot listen on 127.0.0.1:${port}`);
    expect(output).toContain('EADDRINUSE');
    expect(code).toBe(78);
  });

  it('the metrics endpoint: exits 78 with metrics.listen in the message', async () => {
    const { code, output } = await exitOf({ metrics: { listen: `127.0.0.1:${port}` } });
    expect(output).toContain(`metrics.listen 127.0.0.1:${port}`);
    expect(code).toBe(78);
  });
});
