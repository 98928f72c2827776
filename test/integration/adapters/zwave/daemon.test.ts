import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinarySwitchCCSet, MultilevelSensorCCReport } from '@zwave-js/cc';
import { createMockZWaveRequestFrame, MockZWaveFrameType, type MockNode } from '@zwave-js/testing';
import { controlRequest } from '../../../../src/control/client.js';
import { startMqttBroker, type MqttBroker } from '../../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../../src/logger.js';
import type { DeviceInfo } from '../../../../src/model.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { addSwitchWithThermometer } from '../../../fakes/zwave/nodes.js';
import { RESYNC, airTemperatureReport, applicationCommand } from '../../../fakes/zwave/serial-frames.js';
import type { StatusSnapshot } from '../../../../src/health/status.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../../support/daemon.js';
import { Subscriber } from '../../support/subscriber.js';

// The whole daemon (`fieldgate run`, a child process) with only a `zwave` adapter, opening the mock stick
// over `tcp://127.0.0.1:<port>` as it would a ser2net stick; the operator's view is the real CLI and the
// cloud's view is an MQTT subscriber on the daemon's upstream broker.

/** Home id 0x7e570001 (MockStick's default), node 2. */
const NODE_ID = 'zwave:7e570001-2';

describe('the daemon with a Z-Wave stick (mock stick over tcp://, real CLI, real broker)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let stick: MockStick;
  let node: MockNode;
  let broker: MqttBroker;
  let subscriber: Subscriber;
  let daemon: Daemon | undefined;

  /** Runs a CLI verb against this daemon's control socket and parses its `--json` output. */
  async function cliJson<T>(args: string[]): Promise<{ code: number | null; body: T }> {
    const result = await runCli([...args, '--json', '--socket', daemon!.socket]);
    if (result.stdout === '') throw new Error(`fieldgate ${args.join(' ')}: ${result.stderr}`);
    return { code: result.code, body: JSON.parse(result.stdout) as T };
  }

  beforeAll(async () => {
    work = await makeWorkdir();
    stick = await MockStick.start();
    node = await addSwitchWithThermometer(stick);
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
    subscriber = await Subscriber.connect(broker.port);
    daemon = await Daemon.start(work.dir, {
      ...testConfig(work.dir, broker.port),
      adapters: {
        zwave: { type: 'zwave', serialPort: stick.url, reopen: { initialMs: 200, maxMs: 1000 } },
      },
    });
    // The interview ends when the node's sensor value is known; only then is the device fully described.
    await waitFor(async () => {
      const { devices } = await controlRequest<{ devices: DeviceInfo[] }>(
        daemon!.socket,
        'GET',
        '/v1/devices?adapter=zwave',
      );
      return devices.some((d) => d.id === NODE_ID && d.capabilities.values.includes('temperature'));
    }, `the interview of node 2\n${daemon.output}`);
  }, 60_000);

  afterAll(async () => {
    await subscriber?.close();
    await daemon?.stop();
    await broker?.close();
    await stick?.close();
    await work?.cleanup();
  });

  it('lists the interviewed node under `devices --adapter zwave` with manufacturer and firmware', async () => {
    const { code, body } = await cliJson<DeviceInfo[]>(['devices', '--adapter', 'zwave']);

    expect(code).toBe(0);
    expect(body.map((d) => d.id)).toEqual([NODE_ID]);
    expect(body[0]).toMatchObject({
      adapter: 'zwave',
      manufacturer: expect.stringMatching(/\S/) as string,
      firmware: expect.stringContaining('1.7') as string,
      availability: 'online',
      power: 'mains',
    });
    expect(body[0]?.capabilities.commands.map((c) => c.name)).toContain('on');
  });

  it('`send <node> on` answers ok and the node receives a Binary Switch Set on', async () => {
    node.clearReceivedControllerFrames();

    const { code, body } = await cliJson<{ status: string }>(['send', NODE_ID, 'on']);

    expect(body.status).toBe('ok');
    expect(code).toBe(0);
    node.assertReceivedControllerFrame(
      (f) =>
        f.type === MockZWaveFrameType.Request &&
        f.payload instanceof BinarySwitchCCSet &&
        f.payload.targetValue === true,
    );
  });

  it('counts malformed frames from the stick in `status --json` and `status`, and keeps reading', async () => {
    const droppedFrames = async () => {
      const { body } = await cliJson<StatusSnapshot>(['status']);
      return body.adapters.find((a) => a.name === 'zwave')?.droppedFrames ?? {};
    };
    const before = await droppedFrames();
    const report = applicationCommand(2, airTemperatureReport(18.5));
    const badChecksum = Buffer.concat([report.subarray(0, -1), Buffer.from([report.at(-1)! ^ 0x5a])]);
    const cutShortCc = applicationCommand(2, airTemperatureReport(18.5).subarray(0, 4));

    await stick.sendRawToHost(Buffer.concat([badChecksum, report.subarray(0, 7), RESYNC, cutShortCc]));
    await stick.sendRawToHost(report);

    await waitFor(
      () => subscriber.readings.some((r) => r.device === NODE_ID && r.values.temperature === 18.5),
      `the valid report after the garbage at the broker\n${daemon!.output}`,
    );
    const after = await droppedFrames();
    // The bad checksum and the frame cut short; the report whose fields are cut short.
    expect((after.invalidFrame ?? 0) - (before.invalidFrame ?? 0)).toBe(2);
    expect((after.invalidPayload ?? 0) - (before.invalidPayload ?? 0)).toBe(1);
    const text = await runCli(['status', '--socket', daemon!.socket]);
    expect(text.stdout).toMatch(/zwave \(zwave\) +running .*frames dropped \(.*invalidFrame/);
  });

  it('forwards a temperature report from the node to the upstream as `temperature` in °C', async () => {
    await node.sendToController(
      createMockZWaveRequestFrame(
        new MultilevelSensorCCReport({ nodeId: stick.controller.ownNodeId, type: 1, scale: 0, value: 23.25 }),
        { ackRequested: false },
      ),
    );

    const arrived = () =>
      subscriber.readings.find((r) => r.device === NODE_ID && r.values.temperature === 23.25);
    await waitFor(() => arrived() !== undefined, `the temperature reading at the broker\n${daemon!.output}`);
    expect(arrived()).toMatchObject({ units: { temperature: '°C' } });
  });
});
