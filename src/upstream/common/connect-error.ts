import { FieldgateError, errorMessage } from '../../errors.js';

/**
 * CONNACK return codes (MQTT 3.1.1 §3.2.2.3) and reason codes (MQTT 5 §3.2.2.2) that mean "not you":
 * the broker refused our identity or credentials. Retrying is still right (a rotated password may be put
 * back), but the operator should look.
 */
const AUTH_CODES = new Set([2, 4, 5, 133, 134, 135, 138, 140]);

/**
 * Map whatever mqtt.js reported while connecting to a retryable `FieldgateError`: `FG_UPSTREAM_AUTH`
 * (context `reason: 'auth'`) for refused credentials, `FG_UPSTREAM_OFFLINE` for everything else (socket
 * errors, "server unavailable", protocol trouble). Pure; never throws.
 */
export function classifyConnectError(error: unknown): FieldgateError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  if (typeof code === 'number' && AUTH_CODES.has(code)) {
    return new FieldgateError(
      'FG_UPSTREAM_AUTH',
      `The broker refused our credentials: ${errorMessage(error)}`,
      {
        cause: error,
        context: { reason: 'auth', returnCode: code },
      },
    );
  }
  return new FieldgateError('FG_UPSTREAM_OFFLINE', `Cannot connect to the broker: ${errorMessage(error)}`, {
    cause: error,
    context: { reason: 'offline', ...(code === undefined ? {} : { code }) },
  });
}
