import type { Value } from '../../src/model.js';
import { CC, lowerCamel } from './value-mapping.js';

/**
 * A stateless event as zwave-js's node `notification` event carries it. Only two command classes are
 * readings: Notification CC events that have no state to keep (a keypad code entered, a self-test run),
 * and Entry Control (keypads, RFID readers). The rest zwave-js reports this way (Powerlevel test results,
 * Multilevel Switch start/stop, Battery "replace soon") are diagnostics or covered by values already.
 */
export type ZwaveEvent =
  | {
      commandClass: typeof CC.notification;
      endpoint: number;
      /** zwave-js's label of the notification type, e.g. `Access Control`. */
      label: string;
      /** zwave-js's label of the event, e.g. `Keypad unlock operation`. */
      eventLabel: string;
      /** Event parameters: a record (`{ userId: 3 }`), raw bytes, a duration or nothing. */
      parameters?: unknown;
    }
  | {
      commandClass: typeof CC.entryControl;
      endpoint: number;
      /** zwave-js's label of the event type, e.g. `Disarm all`. */
      eventTypeLabel: string;
      /** What `eventData` holds: `None`, `Raw`, `ASCII` or `MD5`. */
      dataTypeLabel: string;
      eventData?: Uint8Array | string | undefined;
    };

/** The value names every event reading may carry; parameters never overwrite them. */
const RESERVED = new Set(['action', 'notificationType', 'endpoint']);

/**
 * Maps one stateless event to the values of one reading. Every event reading has `action` (the event as
 * lowerCamel text, e.g. `keypadUnlockOperation`, `disarmAll`) so cloud rules can match on one field, as they
 * do for button presses from other radios; the rest says where it came from and what it carried.
 */
export function mapEvent(event: ZwaveEvent): Record<string, Value> {
  const values: Record<string, Value> =
    event.commandClass === CC.notification ? notificationValues(event) : entryControlValues(event);
  if (event.endpoint > 0) values.endpoint = event.endpoint;
  return values;
}

function notificationValues(event: Extract<ZwaveEvent, { commandClass: typeof CC.notification }>) {
  const values: Record<string, Value> = {
    action: lowerCamel(event.eventLabel),
    notificationType: lowerCamel(event.label),
  };
  const parameters = event.parameters;
  if (parameters instanceof Uint8Array) values.eventParameters = hex(parameters);
  else if (typeof parameters === 'number') values.eventParameters = parameters;
  else if (typeof parameters === 'object' && parameters !== null) {
    for (const [key, raw] of Object.entries(parameters as Record<string, unknown>)) {
      const name = lowerCamel(key);
      if (RESERVED.has(name)) continue;
      if (typeof raw === 'number' || typeof raw === 'string' || typeof raw === 'boolean') values[name] = raw;
      else if (raw instanceof Uint8Array) values[name] = hex(raw);
    }
  }
  return values;
}

function entryControlValues(event: Extract<ZwaveEvent, { commandClass: typeof CC.entryControl }>) {
  const values: Record<string, Value> = { action: lowerCamel(event.eventTypeLabel) };
  const data = event.eventData;
  // ASCII data is what was typed on the keypad; the cloud side needs it to decide on a disarm request.
  if (typeof data === 'string' && data !== '') values.entryData = data;
  else if (data instanceof Uint8Array && data.length > 0) values.entryData = hex(data);
  if (data !== undefined && event.dataTypeLabel !== 'None')
    values.entryDataType = lowerCamel(event.dataTypeLabel);
  return values;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
