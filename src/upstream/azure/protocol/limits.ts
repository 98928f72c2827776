/**
 * IoT Hub's size limits and billing meter for device-to-cloud messages
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing). Pure.
 */

/**
 * IoT Hub meters every D2C message in 4 KB chunks
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing); Free tier uses 0.5 KB.
 */
export const BILLING_UNIT_BYTES = 4096;

/**
 * The hub's D2C size limit, properties included
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
 */
export const MAX_D2C_BYTES = 256 * 1024;

/**
 * A batch of messages (AMQP transfer, HTTPS request) may not exceed 256 KB either
 * (docs/clouds/azure-iot-hub.md#amqp-batches, #https).
 */
export const MAX_BATCH_BYTES = 256 * 1024;

/** Billed 4 KB units of a message of `sizeBytes` (an empty message still costs one). */
export function billedUnits(sizeBytes: number, unitBytes = BILLING_UNIT_BYTES): number {
  return Math.max(1, Math.ceil(sizeBytes / unitBytes));
}
