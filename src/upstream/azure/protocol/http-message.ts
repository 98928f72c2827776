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
