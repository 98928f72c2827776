import { writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../support/daemon.js';

const HOST = 'it-hub.azure-devices.net';
const KEY = Buffer.from('integration-test-key-0000000001').toString('base64');
/** How long the daemon runs with the shortest token lifetime the config allows. */
const WATCH_MS = Number(process.env.FG_TOKEN_WATCH_MS ?? 5000);

/**
 * A TCP relay in front of the hub that counts what a storm would multiply: connections (MQTT renews by
 * reconnecting) and CBS put-token requests (AMQP renews on the open link; plain AMQP shows the operation
 * name in clear).
 */
async function countingRelay(target: string): Promise<{
  url: string;
  connections: () => number;
  putTokens: () => number;
  close: () => void;
}> {
  const url = new URL(target);
  let connections = 0;
  let putTokens = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = connect(Number(url.port), url.hostname);
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      putTokens += text.split('put-token').length - 1;
      tail = text.slice(-8);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${url.protocol}//127.0.0.1:${port}`,
    connections: () => connections,
    putTokens: () => putTokens,
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

describe('Azure SAS token lifetime and renewal margin', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  beforeEach(async () => {
    work = await makeWorkdir();
  });
  afterEach(() => work.cleanup());

  it.each([
    [
      'a short lifetime under the default 900 s margin',
      ['      tokenTtlS: 600'],
      '6:18: routes.azure.upstream.tokenTtlS: must be at least twice tokenRenewBeforeS (900 s, the default)',
    ],
    [
      'a margin over half the lifetime',
      ['      tokenTtlS: 60', '      tokenRenewBeforeS: 31'],
      '7:26: routes.azure.upstream.tokenRenewBeforeS: must be at most half of tokenTtlS (60 s)',
    ],
  ])('refuses %s: exit 78, with file:line:col', async (_title, lines, where) => {
    const file = path.join(work.dir, 'fieldgate.yaml');
    await writeFile(
      file,
      [
        'gateway: { id: it }',
        'routes:',
        '  azure:',
        '    upstream:',
        '      type: azure',
        ...lines,
        '      connectionString: HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=a2V5',
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runCli(['run', '--config', file]);
    expect(code).toBe(78);
    expect(stderr).toContain(`${file}:${where}`);
  });

  it.each(['mqtt', 'amqp'] as const)(
    'with the shortest lifetime allowed (60 s, renewed 30 s before) the daemon over %s connects once and puts no token storm',
    async (protocol) => {
      const registry = new HubRegistry({ hostName: HOST, devices: { it: { primaryKey: KEY } } });
      const hub = await AzureHubEmulator.start({
        registry,
        host: '127.0.0.1',
        port: 0,
        amqpPort: 0,
        log: silentLogger(),
      });
      const relay = await countingRelay(protocol === 'mqtt' ? hub.url : hub.amqpUrl!);
      let daemon: Daemon | undefined;
      try {
        daemon = await Daemon.start(
          work.dir,
          testConfig(work.dir, 0, {
            routes: {
              azure: {
                upstream: {
                  type: 'azure',
                  protocol,
                  hostName: HOST,
                  deviceId: 'it',
                  sharedAccessKey: KEY,
                  endpoint: relay.url,
                  tokenTtlS: 60,
                  tokenRenewBeforeS: 30,
                  twin: { enabled: false },
                },
                backoff: { initialMs: 100, maxMs: 500 },
              },
            },
          }),
        );
        await waitFor(() => hub.d2c.length > 0, 'the first telemetry');
        const sentBefore = hub.d2c.length;
        await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
        await waitFor(() => hub.d2c.length > sentBefore, 'telemetry still flowing');
        // Renewal at 30 s cannot fall inside the watch; a storm would show dozens of either.
        expect(relay.connections()).toBe(1);
        expect(relay.putTokens()).toBe(protocol === 'amqp' ? 1 : 0);
      } finally {
        await daemon?.stop();
        relay.close();
        await hub.close();
      }
    },
  );
});
