import type { MqttClient } from 'mqtt';
import { FieldgateError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { ExchangeGuard } from '../common/exchange-guard.js';
import { isRefusedSubscription } from '../common/suback.js';

/**
 * Subscribe to `filters` at QoS 1 for a feature (`what`: commands, shadows, jobs). A refusal (SUBACK 0x80,
 * a policy without the topic) is a WARN: telemetry still flows, only that feature is lost. A subscribe
 * that fails otherwise (timeout, connection lost) rejects with a retryable `FG_UPSTREAM_OFFLINE`.
 */
export async function subscribeOrWarn(
  client: MqttClient,
  filters: string[],
  options: { what: string; signal: AbortSignal; ackTimeoutMs: number; log: Logger },
): Promise<void> {
  const guard = new ExchangeGuard(client, options.signal, options.ackTimeoutMs);
  try {
    // mqtt.js rejects when a SUBACK carries a failure code, with the SUBACK attached.
    const subscribed = client.subscribeAsync(filters, { qos: 1 }).then(
      () => undefined,
      (e: unknown) => (isRefusedSubscription(e) ? 'refused' : `subscribe failed: ${errorMessage(e)}`),
    );
    const outcome = await Promise.race([subscribed, guard.reason]);
    if (outcome === 'refused') {
      options.log.warn({ filters }, `IoT Core refused the ${options.what} subscription; check the policy.`);
    } else if (outcome !== undefined) {
      throw new FieldgateError('FG_UPSTREAM_OFFLINE', `Subscribing to ${options.what} failed: ${outcome}.`, {
        context: { reason: outcome },
      });
    }
  } finally {
    guard.dispose();
  }
}
