import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../../emulators/mqtt/index.js';
import { silentLogger } from '../../../src/logger.js';
import { Daemon, makeWorkdir, testConfig } from '../support/daemon.js';

/** One raw HTTP/1.1 exchange over the control socket; the reply is read until the daemon closes it. */
function exchange(socketPath: string, request: string | Buffer): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // The daemon may stop reading a body it has refused; its reply arrived before the reset.
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e);
    });
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      const rest = text.slice(text.indexOf('\r\n\r\n') + 4);
      // A reply with content-length, or chunked (an error before a stream started is never chunked).
      let body: unknown = rest;
      try {
        body = JSON.parse(rest);
      } catch {
        // Left as text: the assertion below shows it.
      }
      resolve({ status, body });
    });
    socket.write(request);
  });
}

function request(method: string, target: string, body?: string | Buffer): Buffer {
  const head =
    `${method} ${target} HTTP/1.1\r\nhost: fieldgate\r\nconnection: close\r\n` +
    (body === undefined
      ? ''
      : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`);
  return Buffer.concat([Buffer.from(`${head}\r\n`), Buffer.from(body ?? '')]);
}

interface Case {
  why: string;
  raw: string | Buffer;
  status: number;
  code: string;
}

const CASES: Case[] = [
  {
    why: 'a request-target that is a host, not a path',
    raw: request('GET', '//%'),
    status: 404,
    code: 'FG_NOT_FOUND',
  },
  {
    why: 'absolute-form target',
    raw: request('GET', 'http://evil/v1/status'),
    status: 400,
    code: 'FG_USAGE',
  },
  { why: 'asterisk target', raw: request('GET', '*'), status: 400, code: 'FG_USAGE' },
  {
    why: 'bad percent-encoding in a device id',
    raw: request('GET', '/v1/devices/%zz'),
    status: 400,
    code: 'FG_USAGE',
  },
  {
    why: 'truncated UTF-8 in a device id',
    raw: request('DELETE', '/v1/devices/%E0%A4'),
    status: 400,
    code: 'FG_USAGE',
  },
  {
    why: 'bad percent-encoding in a route name',
    raw: request('GET', '/v1/queues/%/dead-letters'),
    status: 400,
    code: 'FG_USAGE',
  },
  {
    why: 'bad percent-encoding in a query',
    raw: request('GET', '/v1/devices?adapter=%zz'),
    status: 200,
    code: '',
  },
  { why: 'an unknown endpoint', raw: request('GET', '/v2/status'), status: 404, code: 'FG_NOT_FOUND' },
  { why: 'a method an endpoint lacks', raw: request('PUT', '/v1/status'), status: 404, code: 'FG_NOT_FOUND' },
  { why: 'an empty device glob', raw: request('GET', '/v1/tail?device='), status: 400, code: 'FG_USAGE' },
  {
    why: 'a dead-letter limit that is not a number',
    raw: request('GET', '/v1/queues/local/dead-letters?limit=abc'),
    status: 400,
    code: 'FG_USAGE',
  },
  {
    why: 'an unknown route',
    raw: request('POST', '/v1/queues/nope/replay'),
    status: 404,
    code: 'FG_NOT_FOUND',
  },
  {
    why: 'a body that is not JSON',
    raw: request('POST', '/v1/devices/sim:switch-01/rename', 'please'),
    status: 400,
    code: 'FG_USAGE',
  },
  {
    why: 'a body that is a JSON array',
    raw: request('POST', '/v1/devices/sim:switch-01/rename', '[1]'),
    status: 400,
    code: 'FG_USAGE',
  },
  {
    why: 'a body that is not UTF-8',
    raw: request('POST', '/v1/pair', Buffer.from([0xff, 0xfe, 0x7b, 0x22])),
    status: 400,
    code: 'FG_USAGE',
  },
  {
    why: 'a body over 64 KiB',
    raw: request('POST', '/v1/devices/sim:switch-01/rename', JSON.stringify({ name: 'x'.repeat(200_000) })),
    status: 400,
    code: 'FG_USAGE',
  },
  { why: 'pair without an adapter', raw: request('POST', '/v1/pair', '{}'), status: 400, code: 'FG_USAGE' },
  {
    why: 'pair with an unknown adapter',
    raw: request('POST', '/v1/pair', '{"adapter":"nope","seconds":5}'),
    status: 404,
    code: 'FG_NOT_FOUND',
  },
  {
    why: 'a command without a device',
    raw: request('POST', '/v1/commands', '{"name":1}'),
    status: 400,
    code: 'FG_USAGE',
  },
  { why: 'a request line that is not HTTP', raw: 'HELLO THERE\r\n\r\n', status: 400, code: 'FG_USAGE' },
  {
    why: 'headers too large',
    raw: `GET /v1/status HTTP/1.1\r\nx-pad: ${'a'.repeat(20_000)}\r\n\r\n`,
    status: 431,
    code: 'FG_USAGE',
  },
  {
    why: 'a device glob too long for the request line',
    raw: request('GET', `/v1/tail?device=${'a'.repeat(70_000)}`),
    status: 431,
    code: 'FG_USAGE',
  },
];

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let daemon: Daemon;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  daemon = await Daemon.start(work.dir, testConfig(work.dir, broker.port));
});

afterAll(async () => {
  await daemon?.stop();
  await broker?.close();
  await work?.cleanup();
});

it.each(CASES)('answers $why with $status $code, never a 500', async ({ raw, status, code }) => {
  const reply = await exchange(daemon.socket, raw);
  expect(reply.status).toBe(status);
  if (code !== '') expect(reply.body).toMatchObject({ code, error: expect.any(String) as string });
});

it('still serves the CLI after every bad request above', async () => {
  expect((await daemon.status()).gateway).toBe('it');
});
