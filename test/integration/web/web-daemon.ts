import { startMqttBroker, type MqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';

/** Tokens of the test daemon: one that may act, one that may only look (both ≥ 16 characters). */
export const ADMIN_TOKEN = 'admin-token-for-tests-0001';
export const VIEWER_TOKEN = 'viewer-token-for-tests-002';

export interface WebDaemon {
  daemon: Daemon;
  broker: MqttBroker;
  /** `http://127.0.0.1:<port>` of the status page. */
  base: string;
  /** Stops the broker (an outage); `restartBroker` brings one back on the same port. */
  restartBroker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real daemon with the sim fleet, its route to an in-process MQTT broker the test can stop, and the
 * status page on a free loopback port with two tokens (from the environment, as `${VAR}` references).
 */
export async function startWebDaemon(
  options: { web?: Record<string, unknown>; reportIntervalMs?: number } = {},
): Promise<WebDaemon> {
  const work = await makeWorkdir();
  let broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  const port = broker.port;
  const config = testConfig(work.dir, port, {
    web: {
      enabled: true,
      listen: '127.0.0.1:0',
      tokens: [
        { name: 'admin', token: '${FG_TEST_ADMIN_TOKEN}', actions: true },
        { name: 'viewer', token: '${FG_TEST_VIEWER_TOKEN}' },
      ],
      ...options.web,
    },
  });
  const sim = (config.adapters as { sim: Record<string, unknown> }).sim;
  sim.reportIntervalMs = options.reportIntervalMs ?? 500;
  const daemon = await Daemon.start(work.dir, config, {
    env: { ...process.env, FG_TEST_ADMIN_TOKEN: ADMIN_TOKEN, FG_TEST_VIEWER_TOKEN: VIEWER_TOKEN },
  });
  let base = '';
  await waitFor(() => {
    const listen = /"component":"web","listen":"([^"]+)"/.exec(daemon.output)?.[1];
    if (listen !== undefined) base = `http://${listen}`;
    return listen !== undefined;
  }, `the status page's listen line\n${daemon.output}`);
  return {
    daemon,
    get broker() {
      return broker;
    },
    base,
    async restartBroker() {
      await broker.close();
      broker = await startMqttBroker({ host: '127.0.0.1', port, log: silentLogger() });
    },
    async close() {
      await daemon.stop();
      await broker.close();
      await work.cleanup();
    },
  };
}
