import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import rhea, { type Connection, type ConnectionOptions } from 'rhea';
import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import type { Logger } from '../../../logger.js';
import { readTlsFiles } from '../../common/tls-files.js';
import { AMQP_MAX_FRAME_BYTES, AmqpInboundWatch } from '../../inbound/amqp-inbound-watch.js';
import { connectionOpened } from './amqp-link.js';

export interface HubConnectionOptions {
  /** `amqps://host[:port]` (port default 5671); `amqp://` is plain TCP, for a loopback emulator only. */
  endpoint: URL;
  /** The hub's host name, sent as the AMQP open frame's `hostname`. */
  hostName: string;
  /** The container id's prefix; a fresh UUID follows it, so a reconnect never reuses a container id. */
  containerName: string;
  config: Pick<AzureUpstreamConfig, 'tls' | 'keepaliveS'>;
  readFile: (path: string) => Promise<Buffer>;
  log: Logger;
  /** Called once the connection is gone, whether it ever opened or not. */
  onDisconnected: (connection: Connection) => void;
  /** Bounds inbound frames and messages; one per connector, so a WARN is logged once per episode. */
  inbound?: AmqpInboundWatch;
}

/**
 * One AMQP connection to the hub, as both AMQP connectors open it: TLS without SASL (tokens go on `$cbs`
 * afterwards, or the client certificate of `tls` identifies the device), no automatic reconnect (the
 * forwarder decides when), idle timeout `keepaliveS`. Resolves once the hub opened the connection; rejects
 * (FG_UPSTREAM_OFFLINE / FG_UPSTREAM_AUTH, see `connectionOpened`) with the connection closed on failure
 * or when `signal` aborts.
 */
export async function openHubConnection(
  options: HubConnectionOptions,
  signal: AbortSignal,
): Promise<Connection> {
  const { endpoint: url, config, log } = options;
  const common = {
    host: url.hostname,
    port: Number(url.port || 5671),
    hostname: options.hostName,
    // No SNI for an IP address (RFC 6066); the certificate is still checked against it.
    servername: isIP(url.hostname) === 0 ? url.hostname : '',
    reconnect: false,
    idle_time_out: config.keepaliveS * 1000,
    // Announced in `open`; the socket's guard enforces it (and the message size), rhea does not.
    max_frame_size: AMQP_MAX_FRAME_BYTES,
  };
  const inbound = options.inbound ?? new AmqpInboundWatch(log);
  const container = rhea.create_container({ id: `${options.containerName}-${randomUUID()}` });
  // `amqp://` (no TLS) exists only for a loopback emulator; the hub itself speaks TLS only.
  const transport = url.protocol === 'amqp:' ? 'tcp' : 'tls';
  const socketOptions: ConnectionOptions =
    transport === 'tcp'
      ? { ...common, transport }
      : { ...common, ...(await readTlsFiles(config.tls, options.readFile)), transport };
  const connection = container.connect({
    ...socketOptions,
    // The socket rhea reads, with its inbound frames checked against the limits announced above.
    connection_details: () => ({
      host: common.host,
      port: common.port,
      transport,
      options: socketOptions,
      connect: inbound.connectFn(transport),
    }),
  });
  // rhea throws 'error' and prints 'disconnected' when nobody listens; the forwarder handles both.
  connection.on('error', (e: unknown) => log.debug({ err: e }, 'AMQP connection error.'));
  connection.on('disconnected', () => {
    log.debug('AMQP connection closed.');
    options.onDisconnected(connection);
  });
  try {
    await connectionOpened(connection, signal);
  } catch (e) {
    connection.close();
    throw e;
  }
  return connection;
}
