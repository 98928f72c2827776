import { createRequire } from 'node:module';
import net from 'node:net';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureHubEmulator } from '../../../emulators/azure/index.js';
import { isFieldgateError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { envelope, gatewayConfig, gseqs, live, startGatewayHub } from '../upstream/azure/gateway-fixtures.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';

// rhea's own encoder for the hostile peer's `open` frame: a valid start, then a frame nobody should take.
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as {
  write_frame(frame: unknown): Buffer;
  amqp_frame(channel: number, performative: unknown): unknown;
  open(fields: Record<string, unknown>): { described(): unknown };
};

const HUGE_FRAME_BYTES = 64 * 2 ** 20;
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

/**
 * A loopback AMQP endpoint whose first connection is a hostile peer (TLS, a valid protocol header and
 * `open`, then a frame header announcing 64 MiB followed by as many bytes as the client reads), and whose
 * later connections are passed through, bytes unchanged, to the emulated hub.
 */
async function hostileThenHub(certs: TestCertificates, hubPort: number) {
  let connections = 0;
  let onClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const hostile = { bytesSent: 0, isClosedByClient: false, finished: false, closed };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((raw) => {
    sockets.add(raw);
    connections += 1;
    if (connections > 1) {
      const upstream = net.connect(hubPort, '127.0.0.1');
      sockets.add(upstream);
      raw.pipe(upstream).pipe(raw);
      raw.on('error', () => upstream.destroy());
      upstream.on('error', () => raw.destroy());
      return;
    }
    const socket = new tls.TLSSocket(raw, { isServer: true, key: certs.server.key, cert: certs.server.cert });
    socket.on('error', () => undefined);
    raw.on('error', (e) => console.log('raw error', e.message));
    raw.on('end', () => console.log('raw end'));
    socket.on('end', () => console.log('tls end'));
    // The TLS layer over an accepted socket reports the peer hanging up on the raw socket.
    raw.once('close', () => {
      hostile.isClosedByClient = !hostile.finished;
      onClosed();
    });
    socket.once('data', () => {
      const open = frames.write_frame(
        frames.amqp_frame(0, frames.open({ container_id: 'hostile' }).described()),
      );
      const header = Buffer.from([0, 0, 0, 0, 2, 0, 0, 0]);
      header.writeUInt32BE(HUGE_FRAME_BYTES, 0);
      socket.write(Buffer.concat([AMQP_HEADER, open, header]));
      void (async () => {
        const chunk = Buffer.alloc(64 * 1024);
        while (hostile.bytesSent < HUGE_FRAME_BYTES - 8 && !raw.destroyed) {
          hostile.bytesSent += chunk.length;
          if (!socket.write(chunk)) await drainOrClose(socket, raw);
        }
        hostile.finished = !raw.destroyed;
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  return { port, hostile, close };
}

function drainOrClose(socket: tls.TLSSocket, raw: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    raw.once('close', done);
  });
}

/** Log lines (parsed) written by the connector, to count WARNs. */
function capture() {
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as { level: number; msg: string });
      callback();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

let certs: TestCertificates;
let hub: AzureHubEmulator;
beforeAll(async () => {
  certs = await makeTestCertificates();
  hub = await startGatewayHub(certs);
});
afterAll(async () => {
  await hub?.close();
  await certs?.cleanup();
});

describe('Azure AMQP connector against a peer that breaks the frame limit', () => {
  it('cuts the connection at the frame header instead of buffering 64 MiB, then reconnects and delivers', async () => {
    const hubPort = Number(new URL(hub.amqpUrl!).port);
    const endpoint = await hostileThenHub(certs, hubPort);
    const { lines, log } = capture();
    const upstream = new AzureAmqpUpstream({
      config: gatewayConfig('amqp', hub, certs, { endpoint: `amqps://127.0.0.1:${endpoint.port}` }),
      gatewayId: 'gw-contract',
      route: 'hostile',
      log,
    });
    try {
      const first = await upstream.connect(live()).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The hostile peer never completes CBS, so the first connect fails, retryably, like a lost connection.
      expect(isFieldgateError(first, 'FG_UPSTREAM_OFFLINE')).toBe(true);
      await endpoint.hostile.closed;
      // What the peer got into its socket before the client hung up: socket buffers, not the frame.
      expect(endpoint.hostile.bytesSent).toBeLessThan(16 * 2 ** 20);
      expect(endpoint.hostile.isClosedByClient).toBe(true);
      const warns = lines.filter((l) => l.level === 40);
      expect(warns).toHaveLength(1);
      expect(warns[0]!.msg).toMatch(/more than the limits we announced/);

      // The next connect (the forwarder's reconnect) reaches the hub; telemetry flows.
      await upstream.connect(live());
      expect(await upstream.send([envelope(1), envelope(2)], live())).toEqual({ kind: 'ok' });
      expect(gseqs(hub)).toEqual([1, 2]);
    } finally {
      await upstream.close();
      await endpoint.close();
    }
  }, 60_000);
});
