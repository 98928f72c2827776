import type { PropertyBag } from '../../upstream/azure/property-bag.js';

/** One device-to-cloud message as the hub's built-in endpoint would hold it (reference A7, A9.8). */
export interface D2cRecord {
  /** The identity authenticated on the connection: what the hub stamps, whatever the message claims. */
  deviceId: string;
  body: Buffer;
  /** System (`$.mid`…) and application properties as the device sent them, decoded. */
  properties: PropertyBag;
  /** What the hub stamps: `iothub-connection-device-id`, `iothub-connection-auth-method`, `iothub-enqueuedtime`. */
  systemProperties: Record<string, string>;
  /** Body plus property bytes: what the hub limits and meters. */
  sizeBytes: number;
}

/** Body plus system property values plus application property names and values (reference A7). */
export function messageSizeBytes(body: Buffer, properties: PropertyBag): number {
  let bytes = body.length;
  for (const [key, value] of Object.entries(properties)) {
    bytes += Buffer.byteLength(value ?? '') + (key.startsWith('$.') ? 0 : Buffer.byteLength(key));
  }
  return bytes;
}

/** The record of an accepted message, stamped as the hub stamps it for the identity on the wire. */
export function stampD2c(
  input: Omit<D2cRecord, 'systemProperties'> & { authMethod: 'sas' | 'x509' },
  now: number,
): D2cRecord {
  const { authMethod, ...message } = input;
  return {
    ...message,
    systemProperties: {
      'iothub-connection-device-id': input.deviceId,
      'iothub-connection-auth-method': JSON.stringify({
        scope: 'device',
        type: authMethod,
        issuer: 'iothub',
      }),
      'iothub-enqueuedtime': new Date(now).toISOString(),
    },
  };
}
