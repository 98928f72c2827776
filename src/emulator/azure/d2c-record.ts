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
