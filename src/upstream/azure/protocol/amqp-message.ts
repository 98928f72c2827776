import rhea, { type Message } from 'rhea';
import type { PropertyBag } from './property-bag.js';

/**
 * IoT Hub messages ↔ AMQP 1.0 messages (docs/clouds/azure-iot-hub.md#amqp-message-mapping, #amqp-batches).
 * Pure.
 *
 * System properties live in the AMQP properties section (`$.mid` → message-id, `$.ct` → content-type,
 * `$.ce` → content-encoding, `$.exp` → absolute-expiry-time), the creation time in the
 * `iothub-creation-time-utc` application property, and everything else in application properties as
 * strings (the hub refuses non-string ones). The body is one data section.
 */

/** The message-format of a hub batch: a transfer whose data sections each hold one encoded message. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

/** The AMQP form of one D2C message. */
export function toAmqpMessage(message: {
  properties: Readonly<Record<string, string>>;
  body: Buffer;
}): Message {
  return fromPropertyBag(message.properties, message.body);
}

/** Any property bag as an AMQP message: used for results and, in the emulator, for C2D. */
export function fromPropertyBag(properties: Readonly<Record<string, string>>, body: Buffer): Message {
  const amqp: Record<string, unknown> = { body: rhea.message.data_section(body) };
  const application: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    switch (key) {
      case '$.mid':
        amqp.message_id = value;
        break;
      case '$.cid':
        amqp.correlation_id = value;
        break;
      case '$.ct':
        amqp.content_type = value;
        break;
      case '$.ce':
        amqp.content_encoding = value;
        break;
      case '$.to':
        amqp.to = value;
        break;
      case '$.exp':
        amqp.absolute_expiry_time = new Date(value);
        break;
      case '$.ctime':
        application['iothub-creation-time-utc'] = value;
        break;
      default:
        application[key] = value;
    }
  }
  amqp.application_properties = application;
  return amqp as unknown as Message;
}

/** The inverse of {@link fromPropertyBag}: the property bag and body of a received AMQP message. */
export function toPropertyBag(message: Message): { properties: PropertyBag; body: Buffer } {
  const properties: PropertyBag = {};
  const put = (key: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    properties[key] = value instanceof Date ? value.toISOString() : idText(value);
  };
  put('$.mid', message.message_id);
  put('$.cid', message.correlation_id);
  put('$.ct', message.content_type);
  put('$.ce', message.content_encoding);
  put('$.to', message.to);
  put('$.exp', message.absolute_expiry_time);
  const application = (message.application_properties ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(application)) {
    put(key === 'iothub-creation-time-utc' ? '$.ctime' : key, value);
  }
  return { properties, body: bodyOf(message) };
}

/** Encode messages as one hub batch transfer body (send it with {@link BATCH_MESSAGE_FORMAT}). */
export function encodeBatch(messages: readonly Message[]): Buffer {
  const sections: unknown = rhea.message.data_sections(messages.map((m) => rhea.message.encode(m)));
  return rhea.message.encode({ body: sections });
}

/** The inner messages of a received batch transfer. */
export function decodeBatch(transfer: Buffer): Message[] {
  return sectionContents(decode(transfer).body).map(decode);
}

/** The body bytes of a message whose body is one or more data sections (or, leniently, a value). */
export function bodyOf(message: Message): Buffer {
  const body: unknown = message.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  const parts = sectionContents(body);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** rhea's decoder, typed as the `Message` its links deliver. */
export function decode(buffer: Buffer): Message {
  return rhea.message.decode(buffer) as unknown as Message;
}

function sectionContents(body: unknown): Buffer[] {
  if (Buffer.isBuffer(body)) return [body];
  if (typeof body !== 'object' || body === null || !('content' in body)) return [];
  const { content, multiple } = body as { content: unknown; multiple?: boolean };
  const items = multiple === true && Array.isArray(content) ? content : [content];
  return items.filter((c): c is Buffer => Buffer.isBuffer(c));
}

/** Message ids may arrive as AMQP uuids (16-byte buffers) or strings; the hub treats them as text. */
function idText(value: unknown): string {
  if (Buffer.isBuffer(value) && value.length === 16) return rhea.uuid_to_string(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}
