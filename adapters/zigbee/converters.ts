import type { Events, Models } from 'zigbee-herdsman';
import type * as Zhc from 'zigbee-herdsman-converters';
import type { ExposeLike, ZigbeeWrite } from './exposes.js';
import { genericClusterValues } from './readings.js';
import type { ZigbeeDevice } from './zigbee-device.js';

/**
 * The calls into zigbee-herdsman-converters, made the way zigbee2mqtt makes them, so a device behaves
 * here as its definition's authors tested it there.
 */

export type ZhcModule = typeof Zhc;
type Definition = Zhc.Definition;

/** The operator's converter options for a device (`devices.<id>.converterOptions`), or none. */
export type ConverterOptions = Readonly<Record<string, unknown>>;

/** The definition's exposes for this device; some definitions compute them from the device and options. */
export function exposesOf(
  definition: Definition | undefined,
  device: Models.Device,
  options: ConverterOptions = {},
): ExposeLike[] {
  if (definition === undefined) return [];
  const exposes =
    typeof definition.exposes === 'function' ? definition.exposes(device, options) : definition.exposes;
  return exposes;
}

function matchesType(type: string | readonly string[], messageType: string): boolean {
  return typeof type === 'string' ? type === messageType : type.includes(messageType);
}

/**
 * Runs every `fromZigbee` converter of the definition that handles this cluster and message type, then
 * the converters' post-processing (precision, calibration). Converters that publish later (button
 * hold/release timers) call `publishLater`. Attribute frames no converter understood fall back to the
 * generic cluster table, so a device without a definition still reports.
 */
export async function convertIncoming(
  zhc: ZhcModule,
  device: ZigbeeDevice,
  message: Events.MessagePayload,
  publishLater: (converted: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  const converted = await runFromZigbee(zhc, device, message, publishLater);
  const isAttributes = message.type === 'attributeReport' || message.type === 'readResponse';
  if (Object.keys(converted).length > 0 || !isAttributes || typeof message.cluster !== 'string')
    return converted;
  return genericClusterValues(message.cluster, message.data as Record<string, unknown>);
}

async function runFromZigbee(
  zhc: ZhcModule,
  device: ZigbeeDevice,
  message: Events.MessagePayload,
  publishLater: (converted: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  const definition = device.definition;
  if (definition === undefined) return {};
  const options = device.converterOptions() as never;
  const converted: Record<string, unknown> = {};
  const meta = {
    state: device.converterState,
    device: message.device,
    deviceExposesChanged: () => undefined,
  };
  for (const converter of definition.fromZigbee) {
    if (
      converter.cluster !== message.cluster ||
      !matchesType(converter.type as string | readonly string[], message.type)
    )
      continue;
    const out = await converter.convert(definition, message as never, publishLater, options, meta);
    if (out) Object.assign(converted, out);
  }
  zhc.postProcessConvertedFromZigbeeMessage(definition, converted, options, message.device);
  Object.assign(device.converterState, converted);
  return converted;
}

/** Lifecycle events definitions listen for, e.g. to register manufacturer-specific clusters. */
export type DeviceEventType = 'start' | 'deviceJoined' | 'deviceAnnounce' | 'deviceInterview';

/**
 * Tells the converters about a device lifecycle event, as zigbee2mqtt does: many definitions (Danfoss,
 * Tuya, Aqara) add their manufacturer-specific clusters here, without which their commands cannot be
 * serialised.
 */
export async function notifyDeviceEvent(
  zhc: ZhcModule,
  device: ZigbeeDevice,
  type: DeviceEventType,
): Promise<void> {
  const data = {
    device: device.zh,
    deviceExposesChanged: () => undefined,
    state: device.converterState,
    options: device.converterOptions() as never,
  };
  const event: Zhc.OnEvent.Event =
    type === 'deviceInterview' ? { type, data: { ...data, status: 'successful' } } : { type, data };
  await zhc.onEvent(event);
  await device.definition?.onEvent?.(event);
}

/** The herdsman endpoint a write addresses: the definition's named endpoint, else the first. */
function endpointFor(device: ZigbeeDevice, endpointName: string | undefined): Models.Endpoint | undefined {
  const zh = device.zh;
  const named = endpointName === undefined ? undefined : device.definition?.endpoint?.(zh)[endpointName];
  const fallback = device.definition?.endpoint?.(zh).default;
  const id = named ?? fallback;
  return (id === undefined ? undefined : zh.getEndpoint(id)) ?? zh.endpoints[0];
}

/**
 * Sends one planned command as zigbee2mqtt publishes a `set`: every key goes to the first `toZigbee`
 * converter that takes it, with the whole message (and the transition) in view, and a converter is used
 * once per endpoint — so `{state: 'ON', brightness: 128}` leaves as one Move to Level (with On/Off) frame
 * where the converter handles both. `state` goes first, or last when it turns the device off. Resolves
 * with the state the converters report when the device acknowledged every frame; rejects with herdsman's
 * error when it answered with a failure status or not at all.
 */
export async function sendWrites(
  device: ZigbeeDevice,
  writes: readonly ZigbeeWrite[],
  transition?: number,
): Promise<Record<string, unknown>> {
  const definition = device.definition;
  if (definition === undefined) throw new Error('the device has no converter definition');
  const state: Record<string, unknown> = {};
  const byEndpoint = new Map<string | undefined, ZigbeeWrite[]>();
  for (const write of writes)
    byEndpoint.set(write.endpointName, [...(byEndpoint.get(write.endpointName) ?? []), write]);
  for (const [endpointName, group] of byEndpoint) {
    const message: Record<string, unknown> = Object.fromEntries(group.map((w) => [w.key, w.value]));
    if (transition !== undefined) message.transition = transition;
    const turnsOff = typeof message.state === 'string' && message.state.toUpperCase() === 'OFF';
    const ordered = [...group].sort((a, b) => stateRank(a.key, turnsOff) - stateRank(b.key, turnsOff));
    const used = new Set<Zhc.Tz.Converter>();
    for (const write of ordered) {
      const converter = definition.toZigbee.find(
        (c) =>
          (c.key === undefined || c.key.includes(write.key)) &&
          (c.endpoints === undefined || endpointName === undefined || c.endpoints.includes(endpointName)),
      );
      if (converter !== undefined && used.has(converter)) continue;
      const endpoint = endpointFor(device, endpointName);
      if (converter?.convertSet === undefined || endpoint === undefined) {
        throw new Error(`no converter sets ${write.key}`);
      }
      used.add(converter);
      const result = await converter.convertSet(endpoint, write.key, write.value, {
        message,
        device: device.zh,
        mapped: definition,
        options: device.converterOptions(),
        state: device.converterState,
        endpoint_name: endpointName,
        publish: () => undefined,
        deviceExposesChanged: () => undefined,
      });
      Object.assign(state, result?.state ?? {});
    }
  }
  return state;
}

/** zigbee2mqtt's order: `state` before the other keys, after them when it turns the device off. */
function stateRank(key: string, turnsOff: boolean): number {
  if (key !== 'state') return 0;
  return turnsOff ? 1 : -1;
}
