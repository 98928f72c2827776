import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { controlStream } from '../../../src/control/client.js';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import type { Reading } from '../../../src/model.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';

describe('the daemon as a service: one per state dir, SIGHUP reloads, /metrics', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Awaited<ReturnType<typeof startMqttBroker>>;
  let daemon: Daemon;
  let config: ReturnType<typeof testConfig> & { queue: Record<string, unknown>; metrics: { listen: string } };

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    const base = testConfig(work.dir, broker.port);
    // A small quota, so an outage of a few seconds drops readings (dropOldest) for the metrics test.
    config = { ...base, queue: { commitIntervalMs: 50, maxBytes: 4000 }, metrics: { listen: '127.0.0.1:0' } };
    daemon = await Daemon.start(work.dir, config);
  });

  afterEach(async () => {
    await daemon.stop();
    await broker.close();
    await work.cleanup();
  });

  it('a second daemon on the same state dir refuses to start, and the first keeps running', async () => {
    const second = await runCli(['run', '--config', daemon.configFile]);
    expect(second.code).toBe(75);
    expect(second.stderr).toContain('another fieldgate daemon is already running with state dir');
    expect((await daemon.status()).healthy).toBe(true);
  });

  it('SIGHUP applies a changed filter, and reports a changed radio setting as needing a restart', async () => {
    const climateSeen = async () => {
      const { readings } = await tailFor(daemon.socket, 1500);
      return readings.some((r) => r.device.startsWith('sim:climate-'));
    };
    expect(await climateSeen()).toBe(true);

    const next = structuredClone(config);
    Object.assign(next, { pipeline: { filter: { exclude: { devices: ['sim:climate-*'] } } } });
    next.adapters.sim.seed = 8;
    await writeFile(daemon.configFile, stringify(next));
    daemon.process.kill('SIGHUP');
    await waitFor(async () => (await daemon.status()).reload !== null, 'the reload');

    const status = await daemon.status();
    expect(status.reload?.applied).toEqual(['pipeline.filter']);
    expect(status.restartRequired).toEqual(['adapters.sim.seed']);
    expect(daemon.output).toContain('Restart required: adapters.sim.seed changed.');
    // Readings already in the pipeline may still pass; after that, no climate sensor gets through.
    await waitFor(async () => !(await climateSeen()), 'climate readings to stop');
    expect((await runCli(['status', '--socket', daemon.socket])).stdout).toContain(
      'restart required: adapters.sim.seed',
    );
  });

  it('an invalid file on SIGHUP keeps the running config and says why', async () => {
    await writeFile(daemon.configFile, 'queue:\n  overflow: sideways\n');
    daemon.process.kill('SIGHUP');
    await waitFor(async () => (await daemon.status()).reload !== null, 'the reload');
    const status = await daemon.status();
    expect(status.reload?.error).toMatch(/overflow/);
    expect(status.problems.join('\n')).toContain('last reload failed');
    expect(daemon.process.exitCode).toBeNull();
  });

  it('/metrics exposes the documented names, and they move as readings flow and drops occur', async () => {
    const address = /"address":"([^"]+)"/.exec(daemon.output)?.[1];
    expect(address).toBeDefined();
    const scrape = async () => (await fetch(`http://${address}/metrics`)).text();
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };

    const first = await scrape();
    for (const name of [
      'fieldgate_readings_received_total',
      'fieldgate_readings_sent_total',
      'fieldgate_queue_depth_readings',
      'fieldgate_queue_bytes',
      'fieldgate_queue_oldest_age_seconds',
      'fieldgate_queue_dropped_total',
      'fieldgate_send_failures_total',
      'fieldgate_upstream_connected',
      'fieldgate_devices',
      'fieldgate_storage_written_bytes_total',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ])
      expect(first).toContain(`# TYPE ${name} `);
    expect(first).not.toMatch(/device="/);

    const received = value(first, 'fieldgate_readings_received_total{adapter="sim"}') ?? 0;
    await waitFor(
      async () => (value(await scrape(), 'fieldgate_readings_received_total{adapter="sim"}') ?? 0) > received,
      'readings_received to grow',
    );
    expect(value(first, 'fieldgate_upstream_connected{route="local"}')).toBe(1);

    // With the broker gone readings pile up past the quota, and the oldest are dropped.
    await broker.close();
    await waitFor(
      async () => value(await scrape(), 'fieldgate_upstream_connected{route="local"}') === 0,
      'route offline',
    );
    await waitFor(async () => {
      const text = await scrape();
      return (value(text, 'fieldgate_queue_dropped_total{route="local",reason="quota"}') ?? 0) > 0;
    }, 'quota drops to be counted');
    expect((await fetch(`http://${address}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${address}/readyz`)).status).toBe(200);
  });
});

async function tailFor(socket: string, ms: number): Promise<{ readings: Reading[] }> {
  const readings: Reading[] = [];
  const stop = AbortSignal.timeout(ms);
  await controlStream(socket, 'GET', '/v1/tail', {
    signal: stop,
    onEvent: (r) => readings.push(r as Reading),
  });
  return { readings };
}
