import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import { ModuleClient, Message } from 'azure-iot-device';
import { Amqp } from 'azure-iot-device-amqp';
import { Mqtt } from 'azure-iot-device-mqtt';
import rhea, { type EventContext } from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../src/config/upstreams/azure.js';
import { isFieldgateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { AzureHttpsUpstream } from '../../../src/upstream/azure/https/azure-https-upstream.js';
import { AzureMqttUpstream } from '../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import type { Upstream } from '../../../src/upstream/upstream.js';
import { waitFor } from '../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

const HOST = 'module-hub.azure-devices.net';
const KEY = Buffer.from('module-key-for-tests-only-000001').toString('base64');
const live = (): AbortSignal => new AbortController().signal;

/** What one client put on the wire, as far as identity goes. */
interface Seen {
  clientId?: string;
  username?: string;
  /** The decoded `sr` of the SAS token (MQTT password or CBS put-token body). */
  sr?: string;
  /** The CBS put-token `name` (the audience). */
  audience?: string;
  /** Topics published (MQTT) or link addresses attached (AMQP). */
  addresses: string[];
  subscriptions: string[];
}

const srOf = (token: string): string => decodeURIComponent(/(?:^|[ &])sr=([^&]+)/.exec(token)?.[1] ?? '');

/** An MQTT server over TLS that accepts anyone and records the identity and topics of each connection. */
async function mqttRecorder(certs: TestCertificates): Promise<{ port: number; seen: Seen[]; close(): void }> {
  const seen: Seen[] = [];
  const byClient = new Map<string, Seen>();
  const broker = new Aedes({
    authenticate: (client, username, password, done) => {
      const record: Seen = {
        clientId: client.id,
        ...(username === undefined ? {} : { username }),
        sr: srOf(password?.toString() ?? ''),
        addresses: [],
        subscriptions: [],
      };
      seen.push(record);
      byClient.set(client.id, record);
      done(null, true);
    },
    authorizePublish: (client, packet, done) => {
      byClient.get(client!.id)?.addresses.push(packet.topic);
      done(null);
    },
    authorizeSubscribe: (client, subscription, done) => {
      byClient.get(client.id)?.subscriptions.push(subscription.topic);
      done(null, subscription);
    },
  });
  await broker.listen();
  const server: TlsServer = createTlsServer({ cert: certs.server.cert, key: certs.server.key }, (socket) =>
    broker.handle(socket),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => {
      server.close();
      broker.close();
    },
  };
}

/** An AMQP server over TLS that answers every put-token with 200 and records tokens and link addresses. */
async function amqpRecorder(certs: TestCertificates): Promise<{ port: number; seen: Seen[]; close(): void }> {
  const seen: Seen[] = [];
  const records = new Map<unknown, Seen>();
  const recordOf = (connection: unknown): Seen => {
    let record = records.get(connection);
    if (record === undefined) {
      record = { addresses: [], subscriptions: [] };
      records.set(connection, record);
      seen.push(record);
    }
    return record;
  };
  const container = rhea.create_container({ id: HOST });
  const server = container.listen({
    host: '127.0.0.1',
    port: 0,
    transport: 'tls',
    cert: certs.server.cert,
    key: certs.server.key,
  });
  await once(server, 'listening');
  const replyLinks = new Map<unknown, rhea.Sender>();
  container.on('sender_open', (c: EventContext) => {
    const address = (c.sender!.source as { address?: string }).address ?? '';
    c.sender!.set_source({ address });
    if (address === '$cbs') replyLinks.set(c.connection, c.sender!);
    else recordOf(c.connection).addresses.push(address);
  });
  container.on('receiver_open', (c: EventContext) => {
    const address = (c.receiver!.target as { address?: string }).address ?? '';
    c.receiver!.set_target({ address });
    if (address !== '$cbs') recordOf(c.connection).addresses.push(address);
  });
  container.on('message', (c: EventContext) => {
    if ((c.receiver!.target as { address?: string }).address !== '$cbs') return;
    const request = c.message!;
    const properties = request.application_properties as Record<string, unknown>;
    const record = recordOf(c.connection);
    record.audience = String(properties.name);
    record.sr = srOf(String(request.body));
    replyLinks.get(c.connection)?.send({
      ...(request.message_id === undefined ? {} : { correlation_id: request.message_id }),
      application_properties: { 'status-code': 200, 'status-description': 'OK' },
      body: null,
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => server.close(),
  };
}

describe.each(['mqtt', 'amqp'] as const)(
  'a module identity over %s: fieldgate connects as the official SDK’s ModuleClient does',
  (protocol) => {
    let certs: TestCertificates;
    let recorder: Awaited<ReturnType<typeof mqttRecorder>>;
    beforeAll(async () => {
      certs = await makeTestCertificates([HOST]);
      recorder = protocol === 'mqtt' ? await mqttRecorder(certs) : await amqpRecorder(certs);
    });
    afterAll(async () => {
      recorder.close();
      await certs.cleanup();
    });

    const connectionString = (): string =>
      `HostName=${HOST};GatewayHostName=127.0.0.1:${recorder.port};DeviceId=edge-gw;ModuleId=fieldgate;SharedAccessKey=${KEY}`;

    it('same client id, username, token scope, CBS audience and telemetry address; no C2D link', async () => {
      const sdk = ModuleClient.fromConnectionString(connectionString(), protocol === 'mqtt' ? Mqtt : Amqp);
      await sdk.setOptions({ ca: certs.server.cert.toString('utf8') });
      await sdk.open();
      await sdk.sendEvent(new Message('{"n":1}'));
      await sdk.close();
      await waitFor(() => recorder.seen.length === 1, 'the SDK’s connection');
      const fromSdk = recorder.seen[0]!;

      // The connection string with `ModuleId=`, the socket to the recorder (`endpoint`).
      const config = azureUpstreamSchema.parse({
        type: 'azure',
        protocol,
        connectionString: connectionString(),
        endpoint: `${protocol}s://127.0.0.1:${recorder.port}`,
        tls: { caFile: certs.server.certFile },
        ackTimeoutMs: 5000,
        twin: { enabled: false },
      });
      const options = { config, gatewayId: 'gw', route: 'azure', log: silentLogger() };
      const upstream: Upstream =
        protocol === 'mqtt' ? new AzureMqttUpstream(options) : new AzureAmqpUpstream(options);
      try {
        await upstream.connect(live());
        const sent = await upstream.send(
          [{ gseq: 1, reading: { device: 'sim:t-1', ts: 1, values: { n: 1 } } }],
          live(),
        );
        expect(sent).toEqual({ kind: 'ok' });
      } finally {
        await upstream.close();
      }
      await waitFor(() => recorder.seen.length === 2, 'fieldgate’s connection');
      const fromFieldgate = recorder.seen[1]!;

      expect(fromSdk.sr).toBe(`${HOST}/devices/edge-gw/modules/fieldgate`);
      expect(fromFieldgate.sr).toBe(fromSdk.sr);
      const eventsPrefix = 'devices/edge-gw/modules/fieldgate/messages/events';
      if (protocol === 'mqtt') {
        expect(fromSdk.clientId).toBe('edge-gw/fieldgate');
        expect(fromFieldgate.clientId).toBe(fromSdk.clientId);
        // The SDK adds its client type after the api-version; the path before `?` is the identity.
        expect(fromSdk.username!.split('?')[0]).toBe(`${HOST}/edge-gw/fieldgate/`);
        expect(fromFieldgate.username!.split('?')[0]).toBe(fromSdk.username!.split('?')[0]);
        expect(fromSdk.addresses[0]).toMatch(new RegExp(`^${eventsPrefix}/`));
        expect(fromFieldgate.addresses[0]).toMatch(new RegExp(`^${eventsPrefix}/`));
        expect(fromFieldgate.subscriptions.filter((t) => t.includes('devicebound'))).toEqual([]);
      } else {
        expect(fromSdk.audience).toBe(encodeURIComponent(`${HOST}/devices/edge-gw/modules/fieldgate`));
        expect(fromFieldgate.audience).toBe(fromSdk.audience);
        expect(fromSdk.addresses).toContain(`/${eventsPrefix}`);
        expect(fromFieldgate.addresses).toContain(`/${eventsPrefix}`);
        // Every link of fieldgate's (events, methods) is the module's, and none is a C2D link.
        for (const address of fromFieldgate.addresses) {
          expect(address.startsWith('/devices/edge-gw/modules/fieldgate/')).toBe(true);
          expect(address).not.toContain('devicebound/');
          expect(address).not.toMatch(/messages\/devicebound$/);
        }
      }
    });
  },
);

describe('module identities the connector cannot use are config errors', () => {
  const base = { type: 'azure', hostName: HOST, deviceId: 'edge-gw', sharedAccessKey: KEY };
  it.each([
    [{ ...base, moduleId: 'fieldgate', protocol: 'https' }, /MQTT or AMQP/],
    [{ ...base, moduleId: 'fieldgate', identity: 'perDevice' }, /identity: gateway/],
  ])('refuses %o', (input, message) => {
    const result = azureUpstreamSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['moduleId'], message: expect.stringMatching(message) as unknown }),
    ]);
  });

  it('refuses ModuleId= in the connection string of an HTTPS route instead of dropping it', () => {
    const config = azureUpstreamSchema.parse({
      type: 'azure',
      protocol: 'https',
      connectionString: `HostName=${HOST};DeviceId=edge-gw;ModuleId=fieldgate;SharedAccessKey=${KEY}`,
    });
    const options = { config, gatewayId: 'gw', route: 'azure', log: silentLogger() };
    const error = (() => {
      try {
        new AzureHttpsUpstream(options);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
  });
});
