import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client, Message, X509AuthenticationProvider, type DeviceClientOptions } from 'azure-iot-device';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../emulators/azure/index.js';
import { HubRegistry } from '../../../emulators/azure/index.js';
import { silentLogger } from '../../../src/logger.js';
import { waitFor } from '../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

/** One transport package of the official Azure IoT device SDK, and what it can do. */
export interface SdkTransportSpec {
  name: 'mqtt' | 'amqp' | 'http';
  /** The package's `Mqtt` / `Amqp` / `Http` class, as `Client.fromConnectionString` takes it. */
  Transport: Parameters<typeof Client.fromConnectionString>[1];
  /** Whether the SDK can reject and abandon a C2D message (MQTT cannot: PUBACK is complete). */
  settles: boolean;
  /** Whether the SDK implements `sendEventBatch` (only HTTP does). */
  batches: boolean;
  /** Whether the transport carries direct methods (HTTP does not). */
  methods: boolean;
}

const HOST = 'sdk-hub.azure-devices.net';
const KEY = Buffer.from('official-sdk-device-key-00000001').toString('base64');
const SAS_DEVICE = 'sdk-sas';
const X509_DEVICE = 'sdk-x509';
/** Registered with a thumbprint the test's client certificate does not have. */
const OTHER_X509_DEVICE = 'sdk-x509-other';

/**
 * The official Azure IoT device SDK for Node (`azure-iot-device` with one transport), unchanged, against
 * the emulator over TLS: it opens, sends (and batches where the SDK can), receives C2D with each
 * settlement producing the hub's feedback, answers direct methods, and authenticates with SAS and with an
 * X.509 client certificate. The SDK trusts the emulator's certificate through its `ca` option and reaches
 * it through `GatewayHostName` (MQTT, AMQP: the TCP target, while token and username keep the hub's host
 * name) or an HTTPS agent (HTTP has no port setting; the SDK documents `http.agent` for proxies).
 */
export function describeSdkTransport(spec: SdkTransportSpec): void {
  describe(`the official Azure IoT device SDK over ${spec.name} against the emulator`, () => {
    let certs: TestCertificates;
    let hub: AzureHubEmulator;
    const clients: Client[] = [];

    beforeAll(async () => {
      certs = await makeTestCertificates([HOST]);
      hub = await AzureHubEmulator.start({
        registry: new HubRegistry({
          hostName: HOST,
          devices: {
            [SAS_DEVICE]: { primaryKey: KEY },
            [X509_DEVICE]: { thumbprint: certs.client.thumbprint },
            [OTHER_X509_DEVICE]: { thumbprint: 'ab'.repeat(32) },
          },
        }),
        host: '127.0.0.1',
        port: 0,
        amqpPort: 0,
        httpsPort: 0,
        tls: certs.server,
        log: silentLogger(),
      });
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
    });
    afterAll(async () => {
      await hub.close();
      await certs.cleanup();
    });

    /** The port of this transport's front end. */
    const frontEndPort = (): number =>
      Number(new URL({ mqtt: hub.url, amqp: hub.amqpUrl!, http: hub.httpsUrl! }[spec.name]).port);

    /** A SAS device's connection string, through the emulator's port for this transport. */
    const connectionString = (deviceId: string, key = KEY): string =>
      `HostName=${HOST};GatewayHostName=127.0.0.1:${frontEndPort()};DeviceId=${deviceId};SharedAccessKey=${key}`;

    /** Trust the emulator's certificate; over HTTP, reach its port and poll C2D every second. */
    const transportOptions = (): DeviceClientOptions => ({
      ca: certs.server.cert.toString('utf8'),
      ...(spec.name === 'http'
        ? { http: { agent: hubAgent(frontEndPort()), receivePolicy: { interval: 1 } } }
        : {}),
    });

    /**
     * A client for the device, connected. An X.509 device goes through `fromAuthenticationProvider`: the SDK
     * reads no `GatewayHostName` from an `x509=true` connection string.
     */
    const openClient = async (deviceId: string, auth: 'sas' | 'x509'): Promise<Client> => {
      const gatewayHostName = `127.0.0.1:${frontEndPort()}`;
      const client =
        auth === 'sas'
          ? Client.fromConnectionString(connectionString(deviceId), spec.Transport)
          : Client.fromAuthenticationProvider(
              new X509AuthenticationProvider({ host: HOST, gatewayHostName, deviceId }),
              spec.Transport,
            );
      clients.push(client);
      const options = transportOptions();
      if (auth === 'x509') {
        options.cert = await readFile(certs.client.certFile, 'utf8');
        options.key = await readFile(certs.client.keyFile, 'utf8');
      }
      await client.setOptions(options);
      await client.open();
      return client;
    };

    const recorded = (messageId: string) =>
      hub.d2c.find((record) => record.properties['$.mid'] === messageId);

    it('sends an event the hub records under the device id, with its system and application properties', async () => {
      const client = await openClient(SAS_DEVICE, 'sas');
      const message = new Message(JSON.stringify({ temperature: 21.5 }));
      // A UUID id goes over AMQP as the AMQP uuid type; the hub gives it back as the same string.
      message.messageId = randomUUID();
      message.correlationId = randomUUID();
      message.contentType = 'application/json';
      message.contentEncoding = 'utf-8';
      message.properties.add('alert', 'high temp');
      await client.sendEvent(message);

      await waitFor(() => recorded(message.messageId) !== undefined, 'the event in the hub');
      const record = recorded(message.messageId)!;
      expect(record.deviceId).toBe(SAS_DEVICE);
      expect(JSON.parse(record.body.toString('utf8'))).toEqual({ temperature: 21.5 });
      expect(record.properties).toMatchObject({
        '$.cid': message.correlationId,
        '$.ct': 'application/json',
        '$.ce': 'utf-8',
        alert: 'high temp',
      });
      expect(JSON.parse(record.systemProperties['iothub-connection-auth-method']!)).toMatchObject({
        type: 'sas',
      });
    });

    it('keeps sending across token renewals, past the first token’s expiry', async () => {
      const client = Client.fromConnectionString(connectionString(SAS_DEVICE), spec.Transport);
      clients.push(client);
      // Tokens live 3 s and are renewed every second: MQTT reconnects, AMQP puts a token on the CBS link.
      await client.setOptions({
        ...transportOptions(),
        tokenRenewal: { tokenValidTimeInSeconds: 3, tokenRenewalMarginInSeconds: 2 },
      });
      const disconnects: unknown[] = [];
      client.on('disconnect', (error: unknown) => disconnects.push(error));
      await client.open();
      const firstTokenGoneAt = Date.now() + 4_000;
      const sent: string[] = [];
      while (Date.now() < firstTokenGoneAt || sent.length < 3) {
        const message = new Message(`renewal ${sent.length}`);
        message.messageId = `${spec.name}-renewal-${sent.length}`;
        await client.sendEvent(message);
        sent.push(message.messageId);
        await waitFor(() => recorded(message.messageId) !== undefined, 'the event in the hub');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(sent.filter((id) => recorded(id)?.deviceId === SAS_DEVICE)).toEqual(sent);
      // A renewal the hub refused would surface as a disconnect before the SDK reconnected.
      expect(disconnects).toEqual([]);
    });

    it.runIf(spec.batches)('sends a batch the hub records as separate messages in order', async () => {
      const client = await openClient(SAS_DEVICE, 'sas');
      // The SDK's batch body carries only the body and application properties, not the message id.
      const batch = [1, 2, 3].map((n) => {
        const message = new Message(`reading ${n}`);
        message.properties.add('batch', spec.name);
        message.properties.add('n', String(n));
        return message;
      });
      await client.sendEventBatch(batch);

      const records = () => hub.d2c.filter((r) => r.properties.batch === spec.name);
      await waitFor(() => records().length === 3, 'the batch in the hub');
      expect(records().map((r) => [r.deviceId, r.body.toString('utf8'), r.properties.n])).toEqual([
        [SAS_DEVICE, 'reading 1', '1'],
        [SAS_DEVICE, 'reading 2', '2'],
        [SAS_DEVICE, 'reading 3', '3'],
      ]);
    });

    const settlements = spec.settles ? (['complete', 'reject', 'abandon'] as const) : (['complete'] as const);
    it.each(settlements)('receives a C2D message and %s reaches the hub', async (settlement) => {
      const client = await openClient(SAS_DEVICE, 'sas');
      const deliveries: Message[] = [];
      client.on('message', (message: Message) => deliveries.push(message));
      const messageId = hub.sendC2d(SAS_DEVICE, {
        body: 'switch on',
        messageId: `${spec.name}-c2d-${settlement}`,
        properties: { command: 'on' },
        ack: 'full',
      });

      await waitFor(() => deliveries.length === 1, 'the C2D message at the device');
      const delivered = deliveries[0]!;
      expect(delivered.messageId).toBe(messageId);
      expect(String(delivered.data)).toBe('switch on');
      // The SDK's HTTP transport keeps the header's `iothub-app-` prefix in the property name.
      const key = spec.name === 'http' ? 'iothub-app-command' : 'command';
      expect(delivered.properties.getValue(key)).toBe('on');
      await client[settlement](delivered);

      if (settlement === 'abandon') {
        // An abandoned message is offered again; completing the second delivery ends it.
        await waitFor(() => deliveries.length === 2, 'the abandoned message offered again');
        expect(deliveries[1]!.messageId).toBe(messageId);
        await client.complete(deliveries[1]!);
      }
      const expected = settlement === 'reject' ? 'Rejected' : 'Success';
      await waitFor(
        () => hub.feedback().some((f) => f.originalMessageId === messageId),
        'the feedback record',
      );
      expect(hub.feedback().filter((f) => f.originalMessageId === messageId)).toEqual([
        expect.objectContaining({ deviceId: SAS_DEVICE, statusCode: expected }),
      ]);
    });

    it('gets C2D again after the hub drops the connection and the SDK reconnects', async () => {
      const client = await openClient(SAS_DEVICE, 'sas');
      const deliveries: Message[] = [];
      client.on('message', (message: Message) => {
        deliveries.push(message);
        client.complete(message).catch(() => undefined);
      });
      const first = hub.sendC2d(SAS_DEVICE, { body: 'before', ack: 'full' });
      await waitFor(() => deliveries.length === 1, 'the first C2D message');
      await waitFor(() => hub.feedback().some((f) => f.originalMessageId === first), 'its feedback');

      hub.disconnectAll();
      const second = hub.sendC2d(SAS_DEVICE, { body: 'after', ack: 'full' });
      await waitFor(() => deliveries.length === 2, 'the C2D message sent during the outage', 40_000);
      expect(deliveries.map((m) => String(m.data))).toEqual(['before', 'after']);
      await waitFor(() => hub.feedback().some((f) => f.originalMessageId === second), 'its feedback');
    });

    it.runIf(spec.methods)('answers a direct method with a status and payload', async () => {
      const client = await openClient(SAS_DEVICE, 'sas');
      client.onDeviceMethod('reboot', (request, response) => {
        const asked = request.payload as { delayS: number };
        response.send(202, { accepted: true, delayS: asked.delayS }).catch(() => undefined);
      });
      // The SDK subscribes to methods in the background after `onDeviceMethod`; retry until it listens.
      const reply = await invokeWhenListening(hub, SAS_DEVICE, 'reboot', { delayS: 5 });
      expect(reply).toEqual({ status: 202, payload: { accepted: true, delayS: 5 } });
    });

    it('refuses a token signed with the wrong key as the SDK’s UnauthorizedError', async () => {
      const wrongKey = Buffer.from('not-the-device-key-0000000000001').toString('base64');
      const client = Client.fromConnectionString(connectionString(SAS_DEVICE, wrongKey), spec.Transport);
      clients.push(client);
      await client.setOptions(transportOptions());
      const message = new Message('should not arrive');
      message.messageId = `${spec.name}-wrong-key`;
      const error = await client
        .open()
        .then(() => client.sendEvent(message))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toMatchObject({ name: 'UnauthorizedError' });
      expect(recorded(message.messageId)).toBeUndefined();
    });

    it('authenticates a device by its X.509 client certificate', async () => {
      const client = await openClient(X509_DEVICE, 'x509');
      const message = new Message('from a certificate');
      message.messageId = `${spec.name}-x509-1`;
      await client.sendEvent(message);

      await waitFor(() => recorded(message.messageId) !== undefined, 'the event in the hub');
      const record = recorded(message.messageId)!;
      expect(record.deviceId).toBe(X509_DEVICE);
      expect(JSON.parse(record.systemProperties['iothub-connection-auth-method']!)).toMatchObject({
        type: 'x509',
      });
    });

    it('refuses a client certificate whose thumbprint is not the device’s', async () => {
      const attempt = (async () => {
        const client = await openClient(OTHER_X509_DEVICE, 'x509');
        const message = new Message('should not arrive');
        message.messageId = `${spec.name}-x509-refused`;
        await client.sendEvent(message);
      })();
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ name: 'UnauthorizedError' });
      expect(recorded(`${spec.name}-x509-refused`)).toBeUndefined();
    });
  });
}

/** Invoke a method, retrying while the device is not yet subscribed (404), as a service caller would. */
async function invokeWhenListening(
  hub: AzureHubEmulator,
  deviceId: string,
  method: string,
  payload: unknown,
): Promise<{ status: number; payload: unknown }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await hub.invokeMethod(deviceId, method, payload, 20_000);
    } catch (error) {
      if ((error as { status?: number }).status !== 404 || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * An HTTPS agent that opens every connection to the emulator on 127.0.0.1:`port`, checking its certificate
 * against the hub host name the SDK asked for: how the SDK's HTTP transport reaches a hub on another port.
 */
function hubAgent(port: number): Agent {
  const agent = new Agent({ keepAlive: false });
  const withTarget = agent as unknown as {
    createConnection: (options: ConnectionOptions, callback?: () => void) => ReturnType<typeof tlsConnect>;
  };
  withTarget.createConnection = (options, callback) =>
    tlsConnect({ ...options, host: '127.0.0.1', port, servername: HOST }, callback);
  return agent;
}
