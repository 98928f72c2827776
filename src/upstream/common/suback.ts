import { ErrorWithSubackPacket } from 'mqtt';

/** SUBACK return code of a refused subscription (MQTT 3.1.1 §3.9.3; MQTT 5 reason codes are ≥ 0x80 too). */
const SUBACK_FAILURE = 0x80;

/**
 * True when `error` is mqtt.js's rejection of `subscribeAsync` because the broker refused a filter: a
 * SUBACK arrived carrying a failure code. Any other error (offline, timeout) is not a refusal.
 */
export function isRefusedSubscription(error: unknown): boolean {
  return (
    error instanceof ErrorWithSubackPacket &&
    error.packet.granted.some((code) => typeof code === 'number' && code >= SUBACK_FAILURE)
  );
}
