import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Checks AWS Signature Version 4 on a request to the emulated service APIs (the data plane, Jobs), as
 * AWS does for IAM-signed HTTPS (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
 * the canonical request (method, each path segment URI-encoded again, sorted query, the signed headers,
 * the payload's SHA-256), the string to sign for `{date}/{region}/{service}/aws4_request`, and the
 * HMAC chain from the secret key. Written from the specification; the official SDK signs the tests'
 * requests.
 */
export interface SignedRequest {
  method: string;
  /** The request target as received: path and query, still encoded. */
  rawUrl: string;
  /** Lower-case header names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Requests signed more than this far from the emulator's clock are refused, as AWS does. */
const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Undefined when the signature is valid for one of `secrets` (access key id → secret), else why not. */
export function sigV4Violation(
  request: SignedRequest,
  secrets: ReadonlyMap<string, string>,
  nowMs: number,
): string | undefined {
  const header = single(request.headers.authorization);
  const match = header === undefined ? null : AUTHORIZATION.exec(header);
  if (match === null) return 'missing or malformed AWS4-HMAC-SHA256 Authorization header';
  const [, accessKeyId, day, region, service, signedHeaders, signature] = match as unknown as string[];
  const secret = secrets.get(accessKeyId!);
  if (secret === undefined) return 'the security token included in the request is invalid';
  const amzDate = single(request.headers['x-amz-date']);
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(day!)) {
    return 'missing or malformed X-Amz-Date';
  }
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs(nowMs - signedAt) > MAX_SKEW_MS) return 'signature expired';
  const names = signedHeaders!.split(';');
  if (!names.includes('host')) return 'the host header must be signed';
  const canonicalHeaders = names.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join('');
  const payloadHash =
    single(request.headers['x-amz-content-sha256']) ??
    createHash('sha256').update(request.body).digest('hex');
  const url = new URL(request.rawUrl, 'https://emulator');
  const canonical = [
    request.method,
    canonicalPath(url.pathname),
    canonicalQuery(url.search),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${secret}`, day!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(toSign).digest();
  const given = Buffer.from(signature!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? undefined
    : 'the request signature we calculated does not match the signature you provided';
}

/** The signing region and service of a well-formed Authorization header. */
export function signingScope(authorization: string | undefined): { service: string } | undefined {
  const match = authorization === undefined ? null : AUTHORIZATION.exec(authorization);
  return match === null ? undefined : { service: match[4]! };
}

function canonicalPath(rawPath: string): string {
  // Each segment as received (still encoded once) is encoded again; empty and `.` segments dropped.
  const segments = rawPath.split('/').filter((s) => s.length > 0 && s !== '.');
  const path = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return escapeUri(path).replace(/%2F/g, '/');
}

function canonicalQuery(search: string): string {
  if (search.length <= 1) return '';
  return search
    .slice(1)
    .split('&')
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const [key = '', value = ''] = pair.split(/=(.*)/s);
      return `${escapeUri(decodeURIComponent(key))}=${escapeUri(decodeURIComponent(value))}`;
    })
    .sort()
    .join('&');
}

function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function headerValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}
