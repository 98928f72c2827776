import rhea from 'rhea';

/**
 * The vocabulary of IoT Hub's AMQP twin and direct-method links (docs/clouds/azure-iot-hub.md#amqp-links),
 * shared by the upstream
 * and the emulator. Pure.
 *
 * Twin: one sender + one receiver on `/devices/{id}/twin`; a request carries the message annotations
 * `operation` (GET | PATCH | PUT | DELETE) and, except for GET, `resource`, plus a `correlation_id`; the
 * response echoes the `correlation_id` with the annotations `status` and, for a PATCH, `version`. Desired
 * patches arrive on the receiver without a `correlation_id`. Methods: one receiver + one sender on
 * `/devices/{id}/methods/devicebound`; a request has a `correlation_id` and the application property
 * `IoThub-methodname`, the response the same `correlation_id` and `IoThub-status`.
 */

export type DeviceChannelKind = 'twin' | 'methods';

export const TWIN_OPERATION = 'operation';
export const TWIN_RESOURCE = 'resource';
export const TWIN_STATUS = 'status';
export const TWIN_VERSION = 'version';
export const REPORTED_RESOURCE = '/properties/reported';
export const DESIRED_RESOURCE = '/notifications/twin/properties/desired';
export const METHOD_NAME_PROPERTY = 'IoThub-methodname';
export const METHOD_STATUS_PROPERTY = 'IoThub-status';
/** Link property that pairs a channel's sender and receiver (`twin:{uuid}` / `methods:{uuid}`). */
export const CHANNEL_CORRELATION_ID = 'com.microsoft:channel-correlation-id';
export const API_VERSION_PROPERTY = 'com.microsoft:api-version';

/** A channel's address; a module identity's channels live under `/devices/{d}/modules/{m}`. */
export function channelAddress(deviceId: string, kind: DeviceChannelKind, moduleId?: string): string {
  const base = moduleId === undefined ? `/devices/${deviceId}` : `/devices/${deviceId}/modules/${moduleId}`;
  return kind === 'twin' ? `${base}/twin` : `${base}/methods/devicebound`;
}

/** The device and channel of a twin or methods address, relative or absolute; undefined for others. */
export function parseChannelAddress(
  address: string,
): { deviceId: string; kind: DeviceChannelKind } | undefined {
  const path = address.replace(/^amqps?:\/\/[^/]+/, '');
  const match = /^\/devices\/([^/]+)\/(twin|methods\/devicebound)$/i.exec(path);
  if (match === null) return undefined;
  return {
    deviceId: decodeURIComponent(match[1]!),
    kind: match[2]!.toLowerCase() === 'twin' ? 'twin' : 'methods',
  };
}

/** A correlation id as a map key: an AMQP uuid (16 bytes, as the Node SDK sends) in its string form. */
export function correlationKey(value: unknown): string | undefined {
  if (Buffer.isBuffer(value) && value.length === 16) return rhea.uuid_to_string(value);
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return undefined;
}

/** A message body of one data section holding `bytes`, as the SDKs send twin and method bodies. */
export function dataSection(bytes: Buffer): unknown {
  return rhea.message.data_section(bytes);
}
