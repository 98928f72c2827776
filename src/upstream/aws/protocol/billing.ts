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
