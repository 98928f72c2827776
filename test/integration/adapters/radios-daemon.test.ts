import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdapterStatus } from '../../../src/adapter-host.js';
import { startMqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';
import { Subscriber } from '../support/subscriber.js';

type Broker = Awaited<ReturnType<typeof startMqttBroker>>;

/**
 * The real daemon with a radio adapter whose hardware is missing, next to the sim fleet: the missing
 * radio must show up in `status` with a reason an operator can act on, and must cost the rest nothing.
 */
describe('a configured radio without its hardware (real daemon, real broker)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let broker: Broker | undefined;
  let daemon: Daemon | undefined;
  let subscriber: Subscriber | undefined;

  beforeEach(async () => {
    work = await makeWorkdir();
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    subscriber = await Subscriber.connect(broker.port);
  });

  afterEach(async () => {
    await subscriber?.close();
    await daemon?.stop();
    await broker?.close();
    await work.cleanup();
    subscriber = daemon = broker = undefined;
  });

  /** Starts the daemon with the test sim fleet plus `radios`, all forwarding to the test broker. */
  async function startWith(radios: Record<string, Record<string, unknown>>): Promise<Daemon> {
    const config = testConfig(work.dir, broker!.port);
    daemon = await Daemon.start(work.dir, { ...config, adapters: { ...config.adapters, ...radios } });
    return daemon;
  }

  async function adapterStatus(name: string): Promise<AdapterStatus | undefined> {
    return (await daemon!.status()).adapters.find((a) => a.name === name);
  }

  /** Waits until `name` reports one of `states`, and returns that status. */
  async function settledStatus(name: string, states: AdapterStatus['state'][]): Promise<AdapterStatus> {
    let last: AdapterStatus | undefined;
    await waitFor(
      async () => {
        last = await adapterStatus(name);
        return last !== undefined && states.includes(last.state);
      },
      `adapter ${name} to be ${states.join(' or ')} (last: ${JSON.stringify(last)})`,
    );
    return last!;
  }

  /** Sim readings that arrive after this call: the daemon keeps forwarding while the radio is down. */
  async function expectSimReadingsToKeepFlowing(): Promise<void> {
    const before = subscriber!.readings.length;
    await waitFor(
      () => subscriber!.readings.slice(before).filter((r) => r.device.startsWith('sim:')).length >= 20,
      '20 more sim readings at the broker',
    );
  }

  /** `fieldgate status` while a radio is missing: the gateway is not healthy, so it exits 1. */
  async function statusText(): Promise<string> {
    const result = await runCli(['status', '--socket', daemon!.socket]);
    expect(result.code).toBe(1);
    return result.stdout;
  }

  it('reports a BLE adapter with no Bluetooth radio as unavailable, forwards the sim fleet, and stops cleanly', async () => {
    // hci7 exists on no test machine; on a kernel without AF_BLUETOOTH the open fails even earlier.
    await startWith({ ble: { type: 'ble', hciDevice: 7, reopen: { initialMs: 200, maxMs: 1000 } } });

    const ble = await settledStatus('ble', ['unavailable']);
    expect(ble.type).toBe('ble');
    expect(ble.detail).toMatch(/Bluetooth|hci7/);
    await expectSimReadingsToKeepFlowing();
    // Still unavailable after its reopen attempts, never escalated into a stop of the daemon.
    expect((await adapterStatus('ble'))?.state).toBe('unavailable');
    expect((await adapterStatus('sim'))?.state).toBe('running');

    const text = await statusText();
    expect(text).toContain('NOT healthy');
    expect(text).toMatch(/ble\b.*\bunavailable\b.*(Bluetooth|hci7)/);

    // Discovery answers even with the radio gone (nothing heard), and only adapters that discover have it.
    const discovered = await runCli([
      'devices',
      '--adapter',
      'ble',
      '--discovered',
      '--json',
      '--socket',
      daemon!.socket,
    ]);
    expect(discovered.code).toBe(0);
    expect(JSON.parse(discovered.stdout)).toEqual([]);
    const simDiscovered = await runCli([
      'devices',
      '--adapter',
      'sim',
      '--discovered',
      '--socket',
      daemon!.socket,
    ]);
    expect(simDiscovered.code).toBe(2);
    expect(simDiscovered.stderr).toContain('has no discovery list');

    expect(await daemon!.stop()).toBe(0);
  });

  it('reports a Zigbee adapter whose serial port does not exist, forwards the sim fleet, and stops cleanly', async () => {
    const port = '/dev/serial/by-id/nope';
    await startWith({
      zigbee: {
        type: 'zigbee',
        coordinator: 'ember',
        serialPort: port,
        reopen: { initialMs: 200, maxMs: 1000 },
      },
    });

    const zigbee = await settledStatus('zigbee', ['unavailable', 'degraded']);
    expect(zigbee.type).toBe('zigbee');
    expect(zigbee.detail).toBe(
      `Zigbee coordinator cannot be opened: serial port ${port} does not exist (is the coordinator plugged in?)`,
    );
    await expectSimReadingsToKeepFlowing();
    // The reopen loop keeps failing with a reason and does not take the sim down with it.
    expect(['unavailable', 'degraded']).toContain((await adapterStatus('zigbee'))?.state);
    expect((await adapterStatus('sim'))?.state).toBe('running');

    const status = await daemon!.status();
    expect(status.healthy).toBe(false);
    expect(status.problems.some((p) => p.startsWith('adapter zigbee is '))).toBe(true);
    expect(await statusText()).toMatch(/NOT healthy[\s\S]*adapter zigbee is /);
    const json = await runCli(['status', '--json', '--socket', daemon!.socket]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { healthy: boolean }).healthy).toBe(false);

    expect(await daemon!.stop()).toBe(0);
  });
});
