import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from './support/daemon.js';
import { Subscriber } from './support/subscriber.js';

/**
 * Preloaded into the daemon: at exit it writes which CommonJS files the process loaded, and how many
 * packet-id Buffers mqtt-packet pre-built (resolved from the daemon's own node_modules, so it is the same
 * module instance the MQTT client uses).
 */
const PROBE = `
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(process.env.FOOTPRINT_FROM);
process.on('exit', () => writeFileSync(process.env.FOOTPRINT_OUT, JSON.stringify({
  loaded: Object.keys(require.cache),
  mqttNumberCache: Object.keys(require('mqtt-packet/numbers.js').cache).length,
})));
`;

/** Libraries a sim + MQTT gateway must not carry: radio stacks, other clouds, the metrics exporter, pretty logs. */
const NOT_CONFIGURED = [
  'prom-client',
  'rhea',
  'zigbee-herdsman',
  '@abandonware',
  'aws-',
  'azure-',
  'aedes',
  // Piped, the daemon logs JSON: the pretty form's library stays unloaded.
  'pino-pretty',
];

describe('the footprint of a sim + MQTT gateway (real daemon)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>> | undefined;
  let broker: MqttBroker | undefined;
  let subscriber: Subscriber | undefined;
  let daemon: Daemon | undefined;
  const savedNodeOptions = process.env.NODE_OPTIONS;

  afterEach(async () => {
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
    await subscriber?.close();
    await daemon?.stop();
    await broker?.close();
    await work?.cleanup();
  });

  it('loads no library it was not configured for, and mqtt-packet builds no number cache', async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    subscriber = await Subscriber.connect(broker.port);
    const probe = path.join(work.dir, 'probe.mjs');
    const out = path.join(work.dir, 'footprint.json');
    await writeFile(probe, PROBE);
    process.env.NODE_OPTIONS = `--import ${probe}`;
    process.env.FOOTPRINT_OUT = out;
    process.env.FOOTPRINT_FROM = path.resolve('dist/src/main.js');
    daemon = await Daemon.start(work.dir, testConfig(work.dir, broker.port));
    // Readings at the broker: the MQTT client has connected and published.
    await waitFor(() => subscriber!.readings.length >= 10, '10 readings at the broker');
    expect(await daemon.stop()).toBe(0);

    const footprint = JSON.parse(await readFile(out, 'utf8')) as {
      loaded: string[];
      mqttNumberCache: number;
    };
    expect(footprint.loaded.some((file) => file.includes('/mqtt/'))).toBe(true);
    const packages = footprint.loaded.map(
      (file) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? '',
    );
    const unexpected = packages.filter((p) => NOT_CONFIGURED.some((name) => p.startsWith(name)));
    expect([...new Set(unexpected)]).toEqual([]);
    expect(footprint.mqttNumberCache).toBe(0);
  });
});
