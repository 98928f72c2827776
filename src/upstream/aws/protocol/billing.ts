import { isBasicIngest } from './topics.js';

/**
 * IoT Core meters MQTT and HTTPS messages in 5 KB increments of payload plus topic
 * (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering): a 5,121-byte message costs two units, a 10-byte
 * one costs one. Batching fills the units.
 */
export const AWS_BILLING_UNIT_BYTES = 5 * 1024;

/** Billed units of one message: at least one, however small; none for Basic Ingest, which is free. */
export function billedUnits(topic: string, payloadBytes: number): number {
  if (isBasicIngest(topic)) return 0;
  const bytes = Buffer.byteLength(topic) + payloadBytes;
  return Math.max(1, Math.ceil(bytes / AWS_BILLING_UNIT_BYTES));
}

/**
 * Billed units of one SUBSCRIBE: the bytes of its topic filters, in 5 KB increments, at least one
 * (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering).
 */
export function subscribeUnits(filters: readonly string[]): number {
  const bytes = filters.reduce((sum, filter) => sum + Buffer.byteLength(filter), 0);
  return Math.max(1, Math.ceil(bytes / AWS_BILLING_UNIT_BYTES));
}

/**
 * A PUBACK the device sends on MQTT 3.1.1 is billed as one 5 KB message; so is a CONNECT without a will
 * (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering). PINGREQ, CONNACK, SUBACK, UNSUBSCRIBE,
 * DISCONNECT and the service's PUBACKs are free.
 */
export const PUBACK_UNITS = 1;
export const CONNECT_UNITS = 1;

/** Device Shadow operations are metered in 1 KB increments of the request, at least one. */
export const SHADOW_UNIT_BYTES = 1024;

export function shadowUnits(payloadBytes: number): number {
  return Math.max(1, Math.ceil(payloadBytes / SHADOW_UNIT_BYTES));
}
