import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpsClient } from '../../../src/upstream/azure/https/https-client.js';

/** A hub front end gone wrong: a C2D poll answered with a body far larger than any message. */
let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size'));
    const isChunked = req.url?.includes('chunked') === true;
    res.writeHead(200, isChunked ? {} : { 'content-length': String(size) });
    const piece = Buffer.alloc(64 * 1024, 0x41);
    let left = size;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, piece.length);
        left -= n;
        if (!res.write(piece.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => (left = 0));
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('HttpsClient body limit', () => {
  const call = (path: string) =>
    new HttpsClient(origin, { rejectUnauthorized: true }).call({
      method: 'GET',
      path,
      headers: {},
      timeoutMs: 10_000,
      maxBodyBytes: 100_000,
    });

  it('reads a body within the limit whole', async () => {
    const reply = await call('/?size=90000');
    expect([reply.status, reply.body.length, reply.oversizeBytes]).toEqual([200, 90_000, undefined]);
  });

  it('refuses a body whose Content-Length is over the limit without reading it', async () => {
    const reply = await call('/?size=50000000');
    expect(reply.body.length).toBe(0);
    expect(reply.oversizeBytes).toBe(50_000_000);
  });

  it('stops reading a chunked body once it passes the limit', async () => {
    const reply = await call('/chunked?size=50000000');
    expect(reply.body.length).toBe(0);
    expect(reply.oversizeBytes).toBeGreaterThan(100_000);
    expect(reply.oversizeBytes).toBeLessThan(1_000_000);
  });
});
