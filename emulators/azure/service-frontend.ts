import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import rhea from 'rhea';
import type { Logger } from '../../src/logger.js';
import { ServiceAmqpLinks, type ServiceAmqpOptions } from './service-amqp.js';
import { ServiceRest, type ServiceRestOptions } from './service-rest.js';

export type ServiceFrontEndOptions = Omit<ServiceAmqpOptions, 'hostNames'> &
  Omit<ServiceRestOptions, 'hostNames'> & {
    host: string;
    /** 0 picks a free port. */
    port: number;
    tls: { cert: Buffer; key: Buffer };
    log: Logger;
  };

const AMQP_HEADER = Buffer.from('AMQP');

/**
 * The hub's service side on one TLS port (docs/clouds/azure-iot-hub.md#service-side): `azure-iothub` reaches
 * AMQP (`amqps://{HostName}`) and REST (`https://{HostName}`) at the same host name, so a local emulator
 * given as `HostName=127.0.0.1:{port}` must answer both there. After the TLS handshake the first bytes
 * decide: the AMQP protocol header goes to the AMQP links, anything else to the REST routes.
 */
export class ServiceFrontEnd {
  readonly port: number;
  readonly amqp: ServiceAmqpLinks;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;

  private constructor(server: Server, port: number, amqp: ServiceAmqpLinks, sockets: Set<Socket>) {
    this.#server = server;
    this.port = port;
    this.amqp = amqp;
    this.#sockets = sockets;
  }

  static async listen(
    options: ServiceFrontEndOptions,
    hostNames: (port: number) => string[],
  ): Promise<ServiceFrontEnd> {
    let port = options.port;
    const names = (): readonly string[] => hostNames(port);
    const amqp = new ServiceAmqpLinks({ ...options, hostNames: names });
    const container = rhea.create_container({ id: 'service', autoaccept: false });
    // rhea's own way to serve a socket it did not accept itself (its typings omit it).
    const serve = container as unknown as { create_connection(): { accept(socket: Socket): void } };
    amqp.attach(container);
    const rest = new ServiceRest({ ...options, hostNames: names });
    const http = createHttpServer((req, res) => {
      rest.handle(req, res).catch((e: unknown) => {
        options.log.debug({ err: e }, 'Service request failed.');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    const server = createTlsServer(options.tls, (socket: TLSSocket) => {
      socket.once('data', (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        if (first.subarray(0, AMQP_HEADER.length).equals(AMQP_HEADER)) {
          serve.create_connection().accept(socket);
        } else {
          http.emit('connection', socket);
        }
        socket.resume();
      });
    });
    const sockets = new Set<Socket>();
    server.on('secureConnection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.listen(options.port, options.host);
    await once(server, 'listening');
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : options.port;
    return new ServiceFrontEnd(server, port, amqp, sockets);
  }

  async close(): Promise<void> {
    this.amqp.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
