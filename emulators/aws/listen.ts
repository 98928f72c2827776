import { once } from 'node:events';
import type { Server } from 'node:https';

/** A listening HTTPS front end of the emulator: its port (the one picked when asked for 0) and how to close it. */
export interface ListeningServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on `port` (0 picks a free one) and returns the port and a close that also drops kept-alive clients. */
export async function listen(server: Server, port: number, host: string): Promise<ListeningServer> {
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
