import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../src/config/upstreams/azure.js';
import { silentLogger } from '../../../src/logger.js';
import type { Envelope } from '../../../src/model.js';
import { AzureMqttUpstream } from '../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import { waitFor } from '../../fakes/wait-for.js';

const MAIN = path.resolve('dist/src/main.js');

const envelope = (gseq: number): Envelope => ({
  gseq,
  reading: { device: 'sim:thermo-01', ts: 1_700_000_000_000 + gseq, values: { temperature: 20 + gseq } },
});

describe('fieldgate emulate azure --show-readings', () => {
  let child: ChildProcess | undefined;
  let upstream: AzureMqttUpstream | undefined;
  afterEach(async () => {
    await upstream?.close();
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('prints the readings of a gzipped batch, inflated, and logs its content encoding', async () => {
    child = spawn(process.execPath, [MAIN, 'emulate', 'azure', '--port', '0', '--show-readings'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const lines = (): string[] => out.split('\n').filter((l) => l.length > 0);
    const json = (): Record<string, unknown>[] =>
      lines()
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => json().some((l) => l.msg === 'Azure IoT Hub emulator listening.'), 'the emulator');
    const connectionString = /Connection string: (\S+)/.exec(out)![1]!;
    const listening = json().find((l) => l.msg === 'Azure IoT Hub emulator listening.')!;

    const config = azureUpstreamSchema.parse({
      type: 'azure',
      connectionString,
      endpoint: listening.url,
      encoding: 'json+gzip',
      twin: { enabled: false },
    });
    upstream = new AzureMqttUpstream({ config, gatewayId: 'gw', route: 'cloud', log: silentLogger() });
    await upstream.connect(new AbortController().signal);
    expect(await upstream.send([envelope(1), envelope(2)], new AbortController().signal)).toEqual({
      kind: 'ok',
    });

    await waitFor(() => json().filter((l) => 'gseq' in l).length === 2, 'two readings printed');
    // The log is written asynchronously: it may follow the readings.
    await waitFor(() => json().some((l) => l.msg === 'D2C message.'), 'the message logged');
    expect(json().filter((l) => 'gseq' in l)).toEqual([
      { gseq: 1, device: 'sim:thermo-01', ts: 1_700_000_000_001, values: { temperature: 21 } },
      { gseq: 2, device: 'sim:thermo-01', ts: 1_700_000_000_002, values: { temperature: 22 } },
    ]);
    expect(json().find((l) => l.msg === 'D2C message.')).toMatchObject({
      deviceId: 'fieldgate-demo',
      contentEncoding: 'gzip',
      readings: 2,
    });
  });
});
