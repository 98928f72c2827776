import { describe, expect, it } from 'vitest';
import { isRetryable } from '../../../../src/errors.js';
import { classifyAwsConnectFailure } from '../../../../src/upstream/aws/classify.js';
import { outcomeOf } from '../../../../src/upstream/aws/https-publisher.js';

const withCode = (message: string, code: string | number) => Object.assign(new Error(message), { code });

describe('classifyAwsConnectFailure', () => {
  it.each([
    [
      'CONNACK 5',
      { error: withCode('Connection refused: Not authorized', 5), isTlsEstablished: true },
      'FG_UPSTREAM_AUTH',
      'notAuthorized',
    ],
    [
      'MQTT 5 CONNACK 0x87 not authorized',
      { error: withCode('Connection refused: Not authorized', 0x87), isTlsEstablished: true },
      'FG_UPSTREAM_AUTH',
      'notAuthorized',
    ],
    [
      'closed after the handshake, before CONNACK',
      { error: new Error('connection closed before CONNACK'), isTlsEstablished: true },
      'FG_UPSTREAM_AUTH',
      'notAuthorized',
    ],
    [
      'certificate refused by the server',
      { error: withCode('alert unknown ca', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), isTlsEstablished: false },
      'FG_UPSTREAM_AUTH',
      'certificateRejected',
    ],
    [
      'TLS 1.3 certificate required',
      { error: withCode('alert', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), isTlsEstablished: true },
      'FG_UPSTREAM_AUTH',
      'certificateRejected',
    ],
    [
      'server not trusted',
      { error: withCode('self-signed', 'SELF_SIGNED_CERT_IN_CHAIN'), isTlsEstablished: false },
      'FG_UPSTREAM_AUTH',
      'serverUntrusted',
    ],
    [
      'connection refused',
      { error: withCode('connect ECONNREFUSED', 'ECONNREFUSED'), isTlsEstablished: false },
      'FG_UPSTREAM_OFFLINE',
      'offline',
    ],
    [
      'closed before the handshake',
      { error: new Error('socket hang up'), isTlsEstablished: false },
      'FG_UPSTREAM_OFFLINE',
      'offline',
    ],
  ])('%s → %s (%s), retryable', (_name, failure, code, reason) => {
    const error = classifyAwsConnectFailure(failure);
    expect(error.code).toBe(code);
    expect(error.context).toMatchObject({ reason });
    expect(isRetryable(error)).toBe(true);
  });
});

describe('HTTPS publish outcomes', () => {
  it.each([
    [200, undefined, { kind: 'ok' }],
    [403, undefined, { kind: 'auth' }],
    [413, undefined, { kind: 'reject' }],
    [429, '3', { kind: 'retry', retryAfterMs: 3000 }],
    [503, undefined, { kind: 'retry' }],
  ])('HTTP %i (Retry-After %s) → %j', (status, retryAfter, expected) => {
    expect(outcomeOf(status, '{}', retryAfter)).toMatchObject(expected);
  });
});
