import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { TcpProxy } from '../fakes/tcp-proxy.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from './support/daemon.js';
import { missing, Subscriber } from './support/subscriber.js';

type Broker = Awaited<ReturnType<typeof startMqttBroker>>;

describe('the daemon delivers what it committed (real daemon, real LevelDB, real broker)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Broker | undefined;
  let daemon: Daemon | undefined;
  let subscriber: Subscriber | undefined;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  });

  afterEach(async () => {
    await subscriber?.close();
    await daemon?.stop();
    await broker?.close();
    await work.cleanup();
    subscriber = daemon = broker = undefined;
  });

  it('forwards the sim fleet’s readings to the broker with the values the sim produced', async () => {
    const port = broker!.port;
    subscriber = await Subscriber.connect(port);
    daemon = await Daemon.start(work.dir, testConfig(work.dir, port));

    await waitFor(
      () => new Set(subscriber!.readings.map((r) => r.device)).size >= 4,
      'readings from 4 devices',
    );
    const climate = subscriber.readings.find((r) => r.device === 'sim:climate-01');
    expect(climate).toBeDefined();
    expect(typeof climate!.values.temperature).toBe('number');
    expect(typeof climate!.values.humidity).toBe('number');
    expect(climate!.seq).toBeGreaterThanOrEqual(1);
    // Per device, the sim's own counter arrives in order and without gaps.
    const seqs = subscriber.readings.filter((r) => r.device === 'sim:climate-01').map((r) => r.seq!);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
  });

  it('keeps a backlog while the upstream is unreachable and drains it, complete and in order, when it returns', async () => {
    // The daemon reaches the broker through a relay that the test cuts: an outage only the gateway sees,
    // while the cloud-side subscriber stays connected and misses nothing.
    const proxy = await TcpProxy.start(broker!.port);
    subscriber = await Subscriber.connect(broker!.port);
    daemon = await Daemon.start(work.dir, testConfig(work.dir, proxy.port));
    await waitFor(() => subscriber!.readings.length > 5, 'first readings');

    await proxy.cut();
    await waitFor(
      async () => (await daemon!.status()).routes[0]!.queue.depth > 100,
      'a backlog of 100 readings',
    );
    expect((await daemon.status()).routes[0]!.forwarder.state).not.toBe('idle');

    await proxy.restore();
    await waitFor(
      async () => (await daemon!.status()).routes[0]!.queue.depth < 20,
      'the backlog to drain',
      60_000,
    );
    const lastCommitted = (await daemon.status()).routes[0]!.queue.nextSeq - 1;
    await waitFor(() => subscriber!.gseqs().has(lastCommitted), `gseq ${lastCommitted} to arrive`);

    expect(missing(subscriber.gseqs())).toEqual([]);
    // History drains in order per device even when live data overtakes it.
    const byDevice = new Map<string, number[]>();
    for (const r of [...subscriber.readings].sort((a, b) => a.gseq - b.gseq)) {
      byDevice.set(r.device, [...(byDevice.get(r.device) ?? []), r.seq!]);
    }
    for (const seqs of byDevice.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await proxy.cut();
  });

  it('delivers every reading committed before a kill -9 after restart; duplicates carry the same sequence', async () => {
    const port = broker!.port;
    subscriber = await Subscriber.connect(port);
    const config = testConfig(work.dir, port);
    daemon = await Daemon.start(work.dir, config);
    await waitFor(() => subscriber!.readings.length > 50, 'readings flowing');
    const committed = (await daemon.status()).routes[0]!.queue.nextSeq - 1;
    // Let the group commit that holds `committed` reach the disk (commitIntervalMs is 50 in testConfig).
    await new Promise((r) => setTimeout(r, 500));
    await daemon.kill9();

    daemon = await Daemon.start(work.dir, config);
    await waitFor(
      () => missing(subscriber!.gseqs()).every((g) => g > committed) && subscriber!.gseqs().has(committed),
      `every gseq up to ${committed} after the restart`,
      60_000,
    );

    // A duplicate is the same reading: same device, timestamp and device sequence.
    const byGseq = new Map<number, string>();
    for (const r of subscriber.readings) {
      const identity = `${r.device}/${r.ts}/${r.seq}`;
      expect(byGseq.get(r.gseq) ?? identity).toBe(identity);
      byGseq.set(r.gseq, identity);
    }
  });
});
