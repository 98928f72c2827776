import { FieldgateError, errorMessage } from '../../errors.js';

/**
 * TLS alerts and OpenSSL reasons by which a server refuses our certificate during the handshake, as
 * Node reports them (`ERR_SSL_…` codes, alert names in the message).
 */
const CERT_REFUSED =
  /SSLV3_ALERT_(BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE|HANDSHAKE_FAILURE)|TLSV13?_ALERT_(UNKNOWN_CA|ACCESS_DENIED|CERTIFICATE_REQUIRED)/i;

/**
 * CONNACK 4 (bad credentials) and 5 (not authorized), MQTT 3.1.1 §3.2.2.3; on MQTT 5 (§3.2.2.2) 0x86 bad
 * user name or password, 0x87 not authorized, 0x8C bad authentication method.
 */
const AUTH_RETURN_CODES = new Set([4, 5, 0x86, 0x87, 0x8c]);

/** Certificate errors on our side: the endpoint is not who it claims to be, or our CA bundle is wrong. */
const SERVER_UNTRUSTED =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID|CERT_HAS_EXPIRED|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/;

/** What we know about a failed connect attempt. */
export interface ConnectFailure {
  /** Whatever mqtt.js or the socket reported, if anything. */
  error?: unknown;
  /** The TLS handshake completed before the failure. */
  isTlsEstablished: boolean;
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

/**
 * Map a failed connect to a retryable `FieldgateError` an operator can act on
 * (docs/clouds/aws-iot-core.md#endpoints-and-authentication, #mqtt-rules-and-limits):
 *
 * - the server refused our certificate in the handshake, or answered CONNACK 4/5 → `FG_UPSTREAM_AUTH`;
 * - the socket closed after a good handshake but before any CONNACK → `FG_UPSTREAM_AUTH` too: that is how
 *   IoT Core says "not authorized" (the certificate is unknown or inactive, or the policy denies
 *   `iot:Connect` for our client id) instead of sending CONNACK 5;
 * - we do not trust the server's certificate → `FG_UPSTREAM_AUTH` (context `reason: 'serverUntrusted'`);
 * - anything else → `FG_UPSTREAM_OFFLINE`.
 *
 * Pure; never throws.
 */
export function classifyAwsConnectFailure(failure: ConnectFailure): FieldgateError {
  const { error } = failure;
  const code = codeOf(error);
  const detail = error === undefined ? 'connection closed' : errorMessage(error);
  const auth = (reason: string, message: string): FieldgateError =>
    new FieldgateError('FG_UPSTREAM_AUTH', message, {
      cause: error,
      context: { reason, ...(code === undefined ? {} : { code }) },
    });

  if (typeof code === 'number' && AUTH_RETURN_CODES.has(code)) {
    return auth('notAuthorized', `IoT Core refused the connection (CONNACK ${code}): ${detail}`);
  }
  if (typeof code === 'string' && SERVER_UNTRUSTED.test(code)) {
    return auth(
      'serverUntrusted',
      `The endpoint's certificate is not trusted (check caFile and servername): ${detail}`,
    );
  }
  if (CERT_REFUSED.test(`${String(code)} ${detail}`)) {
    return auth('certificateRejected', `IoT Core rejected the client certificate: ${detail}`);
  }
  if (failure.isTlsEstablished && (code === undefined || code === 'ECONNRESET')) {
    return auth(
      'notAuthorized',
      // With TLS 1.3 a refused client certificate looks the same: the handshake completes on our side
      // before the server checks the certificate, and the socket just closes.
      'IoT Core closed the connection before CONNACK: the certificate is not trusted, registered or active, or the policy denies iot:Connect for this client id.',
    );
  }
  return new FieldgateError('FG_UPSTREAM_OFFLINE', `Cannot connect to IoT Core: ${detail}`, {
    cause: error,
    context: { reason: 'offline', ...(code === undefined ? {} : { code }) },
  });
}
