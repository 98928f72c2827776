import type { PropertyBag } from './property-bag.js';

/**
 * IoT Hub messages over HTTPS (docs/clouds/azure-iot-hub.md#https). Pure. System properties become `iothub-*`
 * names, the
 * application ones `iothub-app-{name}`; the same names serve as request headers of a single event, as
 * response headers of a C2D message, and as the `properties` of a batch entry.
 */

/** The content type of a batch of events: a JSON array of `{body: base64, properties}`. */
export const BATCH_CONTENT_TYPE = 'application/vnd.microsoft.iothub.json';

const SYSTEM: Record<string, string> = {
  '$.mid': 'iothub-messageid',
  '$.cid': 'iothub-correlationid',
  '$.ct': 'iothub-contenttype',
  '$.ce': 'iothub-contentencoding',
  '$.to': 'iothub-to',
  '$.exp': 'iothub-expiry',
  '$.ctime': 'iothub-creation-time-utc',
};
const SYSTEM_BY_NAME = new Map(Object.entries(SYSTEM).map(([key, name]) => [name, key]));
const APP_PREFIX = 'iothub-app-';

/** One entry of a batch body. */
export interface BatchEntry {
  body: string;
  properties: Record<string, string>;
}

/** A property bag as HTTP names and values. */
export function toHttpProperties(
  properties: Readonly<Record<string, string | null>>,
): Record<string, string> {
  const http: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (value === null) continue;
    http[SYSTEM[key] ?? `${APP_PREFIX}${key}`] = value;
  }
  return http;
}

/** HTTP names and values (any case, other headers ignored) back into a property bag. */
export function fromHttpProperties(http: Readonly<Record<string, unknown>>): PropertyBag {
  const properties: PropertyBag = {};
  for (const [rawName, value] of Object.entries(http)) {
    if (typeof value !== 'string') continue;
    const name = rawName.toLowerCase();
    const system = SYSTEM_BY_NAME.get(name);
    if (system !== undefined) properties[system] = value;
    else if (name.startsWith(APP_PREFIX)) properties[name.slice(APP_PREFIX.length)] = value;
  }
  return properties;
}

/**
 * The largest batch request body: 255 KiB − 1, as the Java and C device SDKs hold it ("defined by the IoT
 * Hub"; docs/clouds/azure-iot-hub.md#https). The body carries each message base64-encoded, 4/3 of its bytes.
 */
export const MAX_BATCH_BODY_BYTES = 255 * 1024 - 1;

/** The bytes one message adds to a batch body: its JSON entry and the comma before it. */
export function batchEntryBytes(message: { body: Buffer; properties: Record<string, string> }): number {
  const entry: BatchEntry = {
    body: message.body.toString('base64'),
    properties: toHttpProperties(message.properties),
  };
  return Buffer.byteLength(JSON.stringify(entry)) + 1;
}

/**
 * Group messages, in order, into batch bodies of at most `maxBodyBytes` serialized. A message whose entry
 * alone is larger goes alone (the hub will refuse it with 413; the caller splits it).
 */
export function groupBatchBodies<T extends { body: Buffer; properties: Record<string, string> }>(
  messages: readonly T[],
  maxBodyBytes = MAX_BATCH_BODY_BYTES,
): T[][] {
  const bodies: T[][] = [];
  let current: T[] = [];
  // The array's brackets; each entry counts its comma, one more than the body holds.
  let currentBytes = 1;
  for (const message of messages) {
    const bytes = batchEntryBytes(message);
    if (current.length > 0 && currentBytes + bytes > maxBodyBytes) {
      bodies.push(current);
      current = [];
      currentBytes = 1;
    }
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length > 0) bodies.push(current);
  return bodies;
}

export function encodeBatchBody(
  messages: readonly { body: Buffer; properties: Record<string, string> }[],
): Buffer {
  const entries: BatchEntry[] = messages.map((m) => ({
    body: m.body.toString('base64'),
    properties: toHttpProperties(m.properties),
  }));
  return Buffer.from(JSON.stringify(entries));
}

/** The messages of a batch body; undefined when it is not one (the hub answers 400). */
export function decodeBatchBody(body: Buffer): { body: Buffer; properties: PropertyBag }[] | undefined {
  let entries: unknown;
  try {
    entries = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(entries)) return undefined;
  const messages: { body: Buffer; properties: PropertyBag }[] = [];
  for (const entry of entries as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const {
      body: text,
      properties,
      base64Encoded,
    } = entry as Partial<BatchEntry> & { base64Encoded?: boolean };
    if (typeof text !== 'string') return undefined;
    messages.push({
      body: Buffer.from(text, base64Encoded === false ? 'utf8' : 'base64'),
      properties: fromHttpProperties(properties ?? {}),
    });
  }
  return messages;
}
