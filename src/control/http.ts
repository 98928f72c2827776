import type http from 'node:http';
import { ErrorCodes, type ErrorCode, FieldgateError, errorMessage, isFieldgateError } from '../errors.js';

const MAX_BODY_BYTES = 64 * 1024;

/** HTTP statuses for the codes a request can cause; the rest are 500. The body carries the code itself. */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  FG_NOT_FOUND: 404,
  FG_USAGE: 400,
  FG_COMMAND_REJECTED: 400,
  FG_ADAPTER_UNAVAILABLE: 503,
  FG_INTERVIEW_FAILED: 504,
};

export function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Every failure becomes a JSON reply `{ error, code }`; the request never just hangs. */
export function replyError(res: http.ServerResponse, e: unknown): void {
  const code: ErrorCode = isFieldgateError(e) ? e.code : 'FG_INTERNAL';
  if (res.headersSent) {
    res.end();
    return;
  }
  reply(res, HTTP_STATUS[code] ?? 500, { error: errorMessage(e), code });
}

/** The reply's code back as an error on the CLI side (unknown codes become FG_INTERNAL). */
export function errorFromReply(body: { error?: unknown; code?: unknown }, fallback: string): FieldgateError {
  const code =
    typeof body.code === 'string' && body.code in ErrorCodes ? (body.code as ErrorCode) : 'FG_INTERNAL';
  return new FieldgateError(code, typeof body.error === 'string' ? body.error : fallback);
}

export async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new FieldgateError('FG_USAGE', 'request body too large');
    chunks.push(chunk);
  }
  if (chunks.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // Reported below, the same as a body that parses to something other than an object.
  }
  throw new FieldgateError('FG_USAGE', 'request body must be a JSON object');
}

/** Starts an NDJSON stream; each `write` sends one event per line. */
export function startStream(res: http.ServerResponse): (event: unknown) => void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  // Headers go out now, so a client sees the stream open before the first event.
  res.flushHeaders();
  return (event) => res.write(`${JSON.stringify(event)}\n`);
}
