import http from 'node:http';
import { FieldgateError } from '../errors.js';
import { errorFromReply } from './http.js';

type Method = 'GET' | 'POST' | 'DELETE';

/** The daemon closed the connection unanswered: it is up, but at its cap on control connections. */
const REFUSED = new Set(['ECONNRESET', 'EPIPE']);

function unreachable(socketPath: string, e: NodeJS.ErrnoException): FieldgateError {
  if (e.code !== undefined && REFUSED.has(e.code)) {
    return new FieldgateError(
      'FG_DAEMON_UNREACHABLE',
      `the daemon at ${socketPath} closed the connection unanswered (${e.code}); it refuses new control ` +
        'connections while too many are open: try again shortly',
      { cause: e },
    );
  }
  return new FieldgateError(
    'FG_DAEMON_UNREACHABLE',
    `cannot reach the daemon at ${socketPath} (${e.code ?? e.message}); is it running? ` +
      '(`systemctl status fieldgate`, or pass --socket)',
    { cause: e },
  );
}

function send(socketPath: string, method: Method, pathname: string, body: unknown): http.ClientRequest {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const req = http.request({
    socketPath,
    method,
    path: pathname,
    headers: payload === undefined ? {} : { 'content-type': 'application/json' },
  });
  req.end(payload);
  return req;
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function parseReply<T>(status: number, text: string): T {
  let parsed: T & { error?: unknown; code?: unknown };
  try {
    parsed = JSON.parse(text) as T & { error?: unknown; code?: unknown };
  } catch (e) {
    throw new FieldgateError('FG_INTERNAL', `bad reply from the daemon: ${text.slice(0, 200)}`, { cause: e });
  }
  if (status >= 400) throw errorFromReply(parsed, text);
  return parsed;
}

/**
 * The CLI's side of the control plane: one JSON request over the daemon's unix socket.
 * @throws FieldgateError `FG_DAEMON_UNREACHABLE` (exit 69) when nothing answers on the socket; otherwise the
 *   code the daemon replied with.
 */
export async function controlRequest<T>(
  socketPath: string,
  method: Method,
  pathname: string,
  body?: unknown,
): Promise<T> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = send(socketPath, method, pathname, body);
    req.once('response', resolve);
    req.once('error', (e: NodeJS.ErrnoException) => reject(unreachable(socketPath, e)));
  });
  return parseReply<T>(res.statusCode ?? 500, await readAll(res));
}

/**
 * An NDJSON stream from the daemon (`/v1/tail`, `/v1/pair`): calls `onEvent` per line and resolves when the
 * daemon ends the stream or `signal` aborts (the connection is then closed, which ends it daemon-side).
 * While a promise `onEvent` returned is pending nothing more is read, so a slow consumer slows the socket and
 * the daemon (which drops, and says so, rather than buffer without bound) instead of growing this process.
 * @throws FieldgateError `FG_DAEMON_UNREACHABLE` when the connection breaks mid-stream.
 */
export async function controlStream(
  socketPath: string,
  method: Method,
  pathname: string,
  options: { body?: unknown; signal?: AbortSignal; onEvent: (event: unknown) => unknown },
): Promise<void> {
  const req = send(socketPath, method, pathname, options.body);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', (e: NodeJS.ErrnoException) => reject(unreachable(socketPath, e)));
  });
  if ((res.statusCode ?? 500) >= 400) parseReply(res.statusCode ?? 500, await readAll(res));
  const onAbort = () => req.destroy();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let buffered = '';
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line !== '') await options.onEvent(JSON.parse(line));
      }
    }
  } catch (e) {
    // Destroying the request on abort ends the response with an error; that is the normal way out.
    if (options.signal?.aborted === true) return;
    if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') throw e;
    throw new FieldgateError(
      'FG_DAEMON_UNREACHABLE',
      'the daemon closed the stream: it cuts a client that takes nothing for 30 s, and ends streams when it stops',
      { cause: e },
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
