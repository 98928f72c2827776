import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { MqttClient } from 'mqtt';
import { waitForConnack } from '../common/connack.js';
import { guardInbound } from '../inbound/guarded-stream.js';
import type { PublishSizeGuard } from '../inbound/publish-size-guard.js';
import { classifyAwsConnectFailure } from './classify.js';
import type { TlsMaterial } from './tls-material.js';

/**
 * ALPN protocol IoT Core requires for MQTT with a client certificate on port 443
 * (docs/clouds/aws-iot-core.md#endpoints-and-authentication).
 */
export const MQTT_ALPN = 'x-amzn-mqtt-ca';

export interface OpenOptions {
  host: string;
  port: number;
  tls: TlsMaterial;
  clientId: string;
  /** 4 (MQTT 3.1.1) or 5. */
  protocolVersion: 4 | 5;
  /** MQTT 3.1.1 clean session; MQTT 5 clean start. */
  clean: boolean;
  /** MQTT 5 only: how long the service keeps the session after the connection ends. */
  sessionExpiryS?: number;
  keepaliveS: number;
  signal: AbortSignal;
  /**
   * Inbound PUBLISH packets pass this guard before mqtt.js buffers them (reset for the new socket). On
   * MQTT 5 its limit also goes into CONNECT as Maximum Packet Size, so the service does not send more.
   */
  guard?: PublishSizeGuard;
}

/** How an established connection ended, as far as the client can tell. */
export interface ConnectionEnd {
  /** The peer closed a healthy socket on purpose (no socket error, not us): on IoT Core over MQTT 3.1.1
   * that is a client-id takeover, a policy violation, or a service-side disconnect. */
  isPeerClose: boolean;
  /** MQTT 5: the reason code (and text) of the DISCONNECT the service sent before closing, if any. */
  disconnect?: { reasonCode: number; reasonString?: string };
  error?: Error;
}

export interface OpenConnection {
  client: MqttClient;
  /** CONNACK's session-present flag: the broker kept our subscriptions and queued messages. */
  isSessionPresent: boolean;
  /** Resolves once when the connection ends, for any reason. */
  ended: Promise<ConnectionEnd>;
  /** Close from our side; `ended` then reports `isPeerClose: false`. */
  close(force: boolean): Promise<void>;
}

/**
 * Open one MQTT 3.1.1 or 5 connection to IoT Core over mutual TLS
 * (docs/clouds/aws-iot-core.md#endpoints-and-authentication): SNI always, ALPN
 * `x-amzn-mqtt-ca` on port 443, no automatic reconnect (the forwarder owns reconnects and their backoff).
 * We build the TLS socket ourselves so the handshake outcome and socket errors are known when
 * classifying a failure. Rejects with a retryable `FieldgateError` (see `classifyAwsConnectFailure`).
 */
export async function openMqttConnection(options: OpenOptions): Promise<OpenConnection> {
  let isTlsEstablished = false;
  let socketError: Error | undefined;
  let isClosingByUs = false;
  const client = new MqttClient(
    () => {
      const socket: TLSSocket = tlsConnect({
        host: options.host,
        port: options.port,
        servername: options.tls.servername,
        cert: options.tls.cert,
        key: options.tls.key,
        ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
        ...(options.port === 443 ? { ALPNProtocols: [MQTT_ALPN] } : {}),
        minVersion: 'TLSv1.2',
      });
      socket.once('secureConnect', () => (isTlsEstablished = true));
      socket.on('error', (e: Error) => {
        socketError ??= e;
      });
      if (options.guard === undefined) return socket;
      options.guard.reset();
      return guardInbound(socket, options.guard);
    },
    {
      clientId: options.clientId,
      clean: options.clean,
      keepalive: options.keepaliveS,
      protocolVersion: options.protocolVersion,
      ...(options.protocolVersion === 5 ? { properties: connectProperties(options) } : {}),
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      // mqtt-packet's default pre-builds 65,536 two-byte Buffers (~6 MiB of heap) to save an allocation per
      // packet id; a gateway sends at most 100 packets per second, so the heap matters more.
      writeCache: false,
    },
  );
  // mqtt.js emits 'error' for socket trouble at any time; without a listener that would crash the process.
  client.on('error', (e) => (socketError ??= e));

  let isSessionPresent = false;
  try {
    // No error and no CONNACK is IoT Core's way of saying "not authorized"
    // (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits), or a plain network drop: the TLS state tells.
    isSessionPresent = await waitForConnack(client, options.signal, (e) =>
      classifyAwsConnectFailure({ error: socketError ?? e, isTlsEstablished }),
    );
  } catch (e) {
    client.end(true);
    throw e;
  }
  let disconnect: ConnectionEnd['disconnect'];
  client.once('disconnect', (packet) => {
    disconnect = {
      reasonCode: packet.reasonCode ?? 0,
      ...(packet.properties?.reasonString === undefined
        ? {}
        : { reasonString: packet.properties.reasonString }),
    };
  });
  const ended = new Promise<ConnectionEnd>((resolve) => {
    client.once('close', () =>
      resolve({
        isPeerClose: !isClosingByUs && socketError === undefined,
        ...(disconnect === undefined ? {} : { disconnect }),
        ...(socketError === undefined ? {} : { error: socketError }),
      }),
    );
  });
  return {
    client,
    isSessionPresent,
    ended,
    close: async (force) => {
      isClosingByUs = true;
      await client.endAsync(force);
    },
  };
}

/** MQTT 5 CONNECT properties: the session expiry, and the largest packet we take (MQTT 5 §3.1.2.11.4). */
function connectProperties(options: OpenOptions): {
  sessionExpiryInterval?: number;
  maximumPacketSize?: number;
} {
  return {
    ...(options.sessionExpiryS === undefined ? {} : { sessionExpiryInterval: options.sessionExpiryS }),
    ...(options.guard === undefined ? {} : { maximumPacketSize: options.guard.maxPacketBytes }),
  };
}
