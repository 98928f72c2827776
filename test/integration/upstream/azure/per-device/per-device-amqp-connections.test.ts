import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../../src/logger.js';
import { deriveDeviceKey } from '../../../../../src/upstream/azure/per-device/leaf-identity.js';
import { PerDeviceAmqpUpstream } from '../../../../../src/upstream/azure/per-device/per-device-amqp-upstream.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import {
  GROUP_KEY,
  HOST,
  live,
  perDeviceConfig,
  POLICY_KEY,
  reading,
  received,
} from './per-device-fixtures.js';

const LEAVES = Array.from({ length: 7 }, (_, i) => `sim:leaf-${i + 1}`);

/** A TCP relay in front of the hub's AMQP port that counts the connections made through it. */
async function countingRelay(
  target: string,
): Promise<{ url: string; connections: () => number; close(): void }> {
  const url = new URL(target);
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    connections += 1;
    const upstream = connect(Number(url.port), url.hostname);
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
  return {
    url: `${url.protocol}//127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

describe('Azure AMQP upstream, per-device identities spread over connections', () => {
  let hub: AzureHubEmulator | undefined;
  let relay: Awaited<ReturnType<typeof countingRelay>> | undefined;
  let upstream: PerDeviceAmqpUpstream | undefined;
  afterEach(async () => {
    await upstream?.close();
    relay?.close();
    await hub?.close();
  });

  it.each([
    ['at most maxDevicesPerConnection (3) leaves on one connection', 'group', 3, undefined],
    ['the hub’s 403005 on a put-token (cap 3) opens another connection', 'group', undefined, 3],
    [
      'the hub’s 403005 on a policy-covered leaf’s link (cap 3) opens another connection',
      'policy',
      undefined,
      3,
    ],
  ] as const)('%s: 7 leaves, 3 connections, nothing held', async (_title, keys, clientCap, hubCap) => {
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({
        hostName: HOST,
        devices: Object.fromEntries(
          LEAVES.map((leaf) => [leaf, { primaryKey: deriveDeviceKey(GROUP_KEY, leaf) }]),
        ),
        policies: { device: { key: POLICY_KEY, permissions: ['DeviceConnect'] } },
      }),
      host: '127.0.0.1',
      port: 0,
      amqpPort: 0,
      tls: certs.server,
      log: silentLogger(),
      ...(hubCap === undefined ? {} : { amqpDevicesPerConnection: hubCap }),
    });
    relay = await countingRelay(hub.amqpUrl!);
    const config = perDeviceConfig('amqp', relay.url, certs, {
      leaves: {},
      ...(keys === 'policy'
        ? { groupKey: undefined, sharedAccessKey: POLICY_KEY, sharedAccessKeyName: 'device' }
        : {}),
      ...(clientCap === undefined ? {} : { maxDevicesPerConnection: clientCap }),
    });
    upstream = new PerDeviceAmqpUpstream({ config, gatewayId: 'gw-1', route: 'r', log: silentLogger() });
    await upstream.connect(live());

    const batch = LEAVES.map((leaf, i) => reading(i + 1, leaf));
    expect(await upstream.send(batch, live())).toEqual({ kind: 'ok' });
    expect(received(hub)).toEqual(Object.fromEntries(LEAVES.map((leaf, i) => [leaf, [i + 1]])));
    expect(upstream.stats().heldLeaves).toEqual([]);
    expect(relay.connections()).toBe(3);
  });
});
