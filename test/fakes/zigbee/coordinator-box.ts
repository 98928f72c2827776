import net from 'node:net';

/**
 * A network coordinator's TCP port (an SLZB-06, a stick behind ser2net) on 127.0.0.1: a fake coordinator
 * given `serialPort: tcp://127.0.0.1:<port>` connects here. `powerOff` closes the port and every
 * connection, as a box that loses power or network does; `powerOn` listens on the same port again.
 */
export class CoordinatorBox {
  constructor(
    private readonly options: {
      /** Cut each connection this long after accepting it (a bridge that keeps restarting). */
      dropAfterMs?: number;
    } = {},
  ) {}

  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Connections accepted since the box was made. */
  connections = 0;
  port = 0;

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  async powerOn(): Promise<void> {
    const server = net.createServer((socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
      const { dropAfterMs } = this.options;
      if (dropAfterMs !== undefined) setTimeout(() => socket.destroy(), dropAfterMs).unref();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Drops every connection but keeps listening, as ser2net does when its peer restarts. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async powerOff(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
