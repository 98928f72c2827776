import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startMqttBroker, type MqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../support/daemon.js';

describe('SIGTERM while the daemon is still starting', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: MqttBroker;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  });

  afterEach(async () => {
    await broker.close();
    await work.cleanup();
  });

  it('finishes starting, then stops everything it started, exits 0 and frees the state dir', async () => {
    const base = testConfig(work.dir, broker.port);
    // Loading zigbee-herdsman and failing to open a missing stick keeps start() busy for a while: the
    // signal lands in the middle of it.
    const config = {
      ...base,
      adapters: {
        ...base.adapters,
        zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: path.join(work.dir, 'no-such-stick') },
      },
    };
    const file = path.join(work.dir, 'fieldgate.yaml');
    await writeFile(file, stringify(config));

    const first = new Daemon(file, config.control.socket);
    await waitFor(() => first.output.includes('Command router started.'), `start to begin\n${first.output}`);
    expect(first.output).not.toContain('fieldgate started.');
    expect(await first.stop()).toBe(0);

    const lifecycle = first.output
      .split('\n')
      .filter((line) => /"msg":"(fieldgate started|fieldgate stopped)\."/.test(line))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(lifecycle.at(-1)).toBe('fieldgate stopped.');
    expect(lifecycle.filter((msg) => msg === 'fieldgate stopped.')).toHaveLength(1);

    // Nothing was left holding the queue's LOCK or the control socket.
    const second = await Daemon.start(work.dir, config);
    expect((await second.status()).healthy).toBeTypeOf('boolean');
    expect(await second.stop()).toBe(0);
  });
});
