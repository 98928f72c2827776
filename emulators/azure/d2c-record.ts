import { gunzipSync } from 'node:zlib';
import type { PropertyBag } from '../../src/upstream/azure/protocol/property-bag.js';

/**
 * One device-to-cloud message as the hub's built-in endpoint would hold it
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
 */
export interface D2cRecord {
  /** The identity authenticated on the connection: what the hub stamps, whatever the message claims. */
  deviceId: string;
  /** The module, when a module identity sent it (`iothub-connection-module-id`). */
  moduleId?: string;
  body: Buffer;
  /** System (`$.mid`…) and application properties as the device sent them, decoded. */
  properties: PropertyBag;
  /** What the hub stamps: `iothub-connection-device-id`, `iothub-connection-auth-method`, `iothub-enqueuedtime`. */
  systemProperties: Record<string, string>;
  /** Body plus property bytes: what the hub limits and meters. */
  sizeBytes: number;
}

/**
 * Body plus system property values plus application property names and values
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
 */
export function messageSizeBytes(body: Buffer, properties: PropertyBag): number {
  let bytes = body.length;
  for (const [key, value] of Object.entries(properties)) {
    bytes += Buffer.byteLength(value ?? '') + (key.startsWith('$.') ? 0 : Buffer.byteLength(key));
  }
  return bytes;
}

/** The record of an accepted message, stamped as the hub stamps it for the identity on the wire. */
export function stampD2c(
  input: Omit<D2cRecord, 'systemProperties' | 'moduleId'> & { authMethod: 'sas' | 'x509' },
  now: number,
): D2cRecord {
  const { authMethod, ...message } = input;
  // A module connects as `{device}/{module}`; the hub stamps both ids (docs/clouds/azure-iot-hub.md#module-identities).
  const [deviceId, moduleId] = input.deviceId.split('/') as [string, string | undefined];
  return {
    ...message,
    deviceId,
    ...(moduleId === undefined ? {} : { moduleId }),
    systemProperties: {
      'iothub-connection-device-id': deviceId,
      ...(moduleId === undefined ? {} : { 'iothub-connection-module-id': moduleId }),
      'iothub-connection-auth-method': JSON.stringify({
        scope: 'device',
        type: authMethod,
        issuer: 'iothub',
      }),
      'iothub-enqueuedtime': new Date(now).toISOString(),
    },
  };
}

/**
 * The record's body as its sender meant it to be read: inflated when `$.ce` says `gzip` (fieldgate's
 * `encoding: json+gzip`), as is otherwise. The hub itself never inflates; this is the consumer's step.
 */
export function d2cContent(record: Pick<D2cRecord, 'body' | 'properties'>): Buffer {
  return record.properties['$.ce']?.toLowerCase() === 'gzip' ? gunzipSync(record.body) : record.body;
}

/** One D2C message as `fieldgate emulate azure` shows it: who sent what, how big, and its readings. */
export interface D2cSummary {
  deviceId: string;
  messageId: string | undefined;
  contentEncoding: string | undefined;
  sizeBytes: number;
  /** The fieldgate batch's readings, inflated and parsed; absent when the body is not a batch. */
  readings?: unknown[];
}

export function summarizeD2c(record: D2cRecord): D2cSummary {
  const summary: D2cSummary = {
    deviceId: record.deviceId,
    messageId: record.properties['$.mid'] ?? undefined,
    contentEncoding: record.properties['$.ce'] ?? undefined,
    sizeBytes: record.sizeBytes,
  };
  try {
    const parsed = JSON.parse(d2cContent(record).toString('utf8')) as { readings?: unknown };
    if (Array.isArray(parsed.readings)) summary.readings = parsed.readings as unknown[];
  } catch {
    // Not JSON (or not inflatable): shown by size only, as the hub would route it.
  }
  return summary;
}
