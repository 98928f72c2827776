import http from 'node:http';
import { FieldgateError } from '../errors.js';

/** The CLI's side of the control plane: one JSON request over the daemon's unix socket. */
export async function controlRequest<T>(
  socketPath: string,
  method: 'GET' | 'POST',
  pathname: string,
  body?: unknown,
): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method,
        path: pathname,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            const parsed = JSON.parse(text) as T & { error?: string };
            if ((res.statusCode ?? 500) >= 400)
              reject(new FieldgateError('FG_INTERNAL', parsed.error ?? text));
            else resolve(parsed);
          } catch (e) {
            reject(
              new FieldgateError('FG_INTERNAL', `bad reply from the daemon: ${text.slice(0, 200)}`, {
                cause: e,
              }),
            );
          }
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new FieldgateError(
          'FG_DAEMON_UNREACHABLE',
          `cannot reach the daemon at ${socketPath} (${e.code ?? e.message}); is it running?`,
          {
            cause: e,
          },
        ),
      );
    });
    req.end(payload);
  });
}
