import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';

type Broker = Awaited<ReturnType<typeof startMqttBroker>>;

/**
 * `fieldgate pair` on a radio whose hardware is missing: the CLI must fail with the reason (never "0 device(s)
 * joined", exit 0), and the daemon must keep running and answering.
 */
describe('pair on a radio without its hardware (real daemon)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Broker | undefined;
  let daemon: Daemon | undefined;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  });

  afterEach(async () => {
    await daemon?.stop();
    await broker?.close();
    await work.cleanup();
    daemon = broker = undefined;
  });

  const radios: [string, Record<string, unknown>, RegExp][] = [
    [
      'zigbee',
      {
        type: 'zigbee',
        coordinator: 'ember',
        serialPort: '/dev/serial/by-id/nope',
        reopen: { initialMs: 200, maxMs: 1000 },
      },
      /Zigbee coordinator is not open: it cannot be opened: serial port \/dev\/serial\/by-id\/nope does not exist/,
    ],
    [
      'zwave',
      { type: 'zwave', serialPort: '/dev/serial/by-id/no-stick', reopen: { initialMs: 200, maxMs: 1000 } },
      /Z-Wave stick is not connected/,
    ],
  ];

  it.each(radios)(
    '%s: pair exits 75 with the reason, and the daemon keeps answering',
    async (name, radio, reason) => {
      const config = testConfig(work.dir, broker!.port);
      daemon = await Daemon.start(work.dir, { ...config, adapters: { ...config.adapters, [name]: radio } });
      await waitFor(
        async () => (await daemon!.status()).adapters.some((a) => a.name === name && a.state !== 'starting'),
        `adapter ${name} to settle`,
      );

      const pair = await runCli(['pair', '--adapter', name, '--time', '5', '--socket', daemon.socket]);
      expect(pair.stdout).not.toContain('device(s) joined');
      expect(pair.stderr).toMatch(reason);
      expect(pair.code).toBe(75);

      const json = await runCli([
        'pair',
        '--adapter',
        name,
        '--time',
        '5',
        '--json',
        '--socket',
        daemon.socket,
      ]);
      expect(json.code).toBe(75);

      const status = await runCli(['status', '--json', '--socket', daemon.socket]);
      expect(status.stdout).toContain(`"${name}"`);
      expect(daemon.process.exitCode).toBeNull();
      expect(daemon.output).not.toContain('unhandled error');
      const code = await daemon.stop();
      expect(code, daemon.output.slice(-3000)).toBe(0);
    },
  );
});
