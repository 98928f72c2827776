import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { Aedes, type AuthenticateError } from 'aedes';
import type { Logger } from '../../src/logger.js';

export interface MqttBrokerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
  /** When given, only these credentials may connect (others get CONNACK 4, bad username or password). */
  credentials?: { username: string; password: string };
  /**
   * Topic filters whose SUBSCRIBE is refused (SUBACK 0x80), as a broker ACL would — for trying clients
   * against a restrictive broker.
   */
  refusedFilters?: readonly string[];
}

export interface MqttBroker {
  /** The port actually bound. */
  port: number;
  /** `mqtt://host:port`. */
  url: string;
  /** Stops accepting, drops every client socket and closes the broker. Idempotent. */
  close(): Promise<void>;
}

/** CONNACK return code 4 (MQTT 3.1.1 §3.2.2.3). */
const BAD_USERNAME_OR_PASSWORD = 4;

/**
 * An in-process MQTT 3.1.1/QoS 1 broker (aedes, in-memory persistence, so persistent sessions and queued
 * QoS 1 messages survive client reconnects but not a broker restart). It is the local endpoint of the demo
 * config and of tests.
 */
export async function startMqttBroker(options: MqttBrokerOptions): Promise<MqttBroker> {
  const log = options.log.child({ component: 'mqtt-broker' });
  const { credentials, refusedFilters = [] } = options;
  const broker = await Aedes.createBroker({
    ...(credentials === undefined
      ? {}
      : {
          authenticate: (_client, username, password, done) => {
            if (username === credentials.username && password?.toString('utf8') === credentials.password) {
              done(null, true);
              return;
            }
            const error = new Error('bad username or password') as AuthenticateError;
            error.returnCode = BAD_USERNAME_OR_PASSWORD;
            done(error, null);
          },
        }),
    authorizeSubscribe: (_client, subscription, done) => {
      // No subscription (and no error, which would close the connection) makes aedes answer 0x80.
      done(null, refusedFilters.includes(subscription.topic) ? null : subscription);
    },
  });
  broker.on('clientError', (client, error) =>
    log.debug({ clientId: client.id, err: error }, 'Client error.'),
  );

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  server.listen(options.port, options.host);
  try {
    await once(server, 'listening');
  } catch (e) {
    // aedes runs a heartbeat timer: left open, it would keep a daemon whose start failed alive for good.
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw e;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = `mqtt://${options.host}:${port}`;
  log.info({ url, auth: credentials === undefined ? 'none' : 'password' }, 'MQTT broker listening.');

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    // aedes only knows clients that sent CONNECT; a half-open socket would hold server.close() forever.
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await serverClosed;
    log.info({ url }, 'MQTT broker closed.');
  };
  return {
    port,
    url,
    close: () => (closing ??= close()),
  };
}
