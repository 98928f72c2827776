import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from './support/daemon.js';
import { Subscriber } from './support/subscriber.js';

describe('commands from the cloud reach sim devices and each gets exactly one result', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Awaited<ReturnType<typeof startMqttBroker>>;
  let daemon: Daemon;
  let cloud: Subscriber;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    cloud = await Subscriber.connect(broker.port);
    const config = testConfig(work.dir, broker.port);
    // A sleepy device that is awake only 300 ms every 4 s.
    Object.assign(config.adapters.sim, { wakeIntervalMs: 4000, awakeMs: 300, reportIntervalMs: 500 });
    daemon = await Daemon.start(work.dir, config);
    await waitFor(
      () => cloud.readings.some((r) => r.device === 'sim:sleepy-01'),
      'the sleepy device to report once',
    );
  });

  afterEach(async () => {
    await cloud.close();
    await daemon.stop();
    await broker.close();
    await work.cleanup();
  });

  const resultsFor = (id: string) => cloud.results.filter((r) => r.id === id);

  it('runs a command for a sleepy device at its next wake-up', async () => {
    await cloud.publishCommand('it', {
      id: 'c-sleepy',
      device: 'sim:sleepy-01',
      name: 'identify',
      ttlMs: 60_000,
    });
    await waitFor(() => resultsFor('c-sleepy').length > 0, 'the result of c-sleepy');
    expect(resultsFor('c-sleepy')).toMatchObject([{ status: 'ok' }]);
    // The device was asleep for most of the cycle: the command waited for it instead of failing.
    expect(daemon.output).not.toMatch(/device is asleep/);
  });

  it('never runs an expired command and reports it expired', async () => {
    await cloud.publishCommand('it', {
      id: 'c-expired',
      device: 'sim:switch-01',
      name: 'on',
      expiresAt: Date.now() - 1000,
    });
    // Right after a wake-up report the sleepy device sleeps for ~3.7 s: a TTL of 0.8 s runs out while it waits.
    const reports = cloud.readings.filter((r) => r.device === 'sim:sleepy-01').length;
    await waitFor(
      () => cloud.readings.filter((r) => r.device === 'sim:sleepy-01').length > reports,
      'a wake-up',
    );
    await new Promise((r) => setTimeout(r, 700));
    await cloud.publishCommand('it', {
      id: 'c-later',
      device: 'sim:sleepy-01',
      name: 'identify',
      ttlMs: 800,
    });
    await waitFor(
      () => resultsFor('c-expired').length > 0 && resultsFor('c-later').length > 0,
      'both results',
    );
    expect(resultsFor('c-expired')).toMatchObject([{ status: 'expired' }]);
    expect(resultsFor('c-later')).toMatchObject([{ status: 'expired' }]);
  });

  it('rejects an unknown command, an unknown device and malformed JSON, once each', async () => {
    await cloud.publishCommand('it', { id: 'c-unknown', device: 'sim:switch-01', name: 'selfDestruct' });
    await cloud.publishCommand('it', { id: 'c-nodevice', device: 'sim:nope-99', name: 'on' });
    await cloud.client.publishAsync('fieldgate/it/commands', '{"id": "c-bad", ', { qos: 1 });
    await waitFor(
      () => resultsFor('c-unknown').length > 0 && resultsFor('c-nodevice').length > 0,
      'rejections',
    );
    await waitFor(
      () =>
        cloud.results.some(
          (r) => r.status === 'rejected' && r.detail !== undefined && /JSON/i.test(r.detail),
        ),
      'the malformed one',
    );
    expect(resultsFor('c-unknown')).toMatchObject([{ status: 'rejected' }]);
    expect(resultsFor('c-nodevice')).toMatchObject([{ status: 'rejected' }]);
  });

  it('toggles a switch: the result is ok and the new state is reported as a reading', async () => {
    await cloud.publishCommand('it', { id: 'c-on', device: 'sim:switch-01', name: 'on' });
    await waitFor(() => resultsFor('c-on').length > 0, 'the result');
    expect(resultsFor('c-on')).toMatchObject([{ status: 'ok' }]);
    await waitFor(
      () => cloud.readings.some((r) => r.device === 'sim:switch-01' && r.values.state === true),
      'state on',
    );
  });

  it('fieldgate send runs a local command through the control socket', async () => {
    const { code, stdout } = await runCli([
      'send',
      'sim:switch-01',
      'toggle',
      '--socket',
      daemon.socket,
      '--json',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'ok' });
  });

  it('each command got exactly one result', async () => {
    const ids = ['a', 'b', 'c'].map((s) => `c-once-${s}`);
    for (const id of ids) await cloud.publishCommand('it', { id, device: 'sim:switch-01', name: 'toggle' });
    // Redelivery of the same command id (clouds deliver at least once) must not run it twice.
    await cloud.publishCommand('it', { id: ids[0], device: 'sim:switch-01', name: 'toggle' });
    await waitFor(() => ids.every((id) => resultsFor(id).length > 0), 'all results');
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ids) expect(resultsFor(id)).toHaveLength(1);
  });
});
