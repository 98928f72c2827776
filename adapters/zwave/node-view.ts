import type { ZWaveNode, ZWaveNodeValueUpdatedArgs } from 'zwave-js';
import type { DeviceInfo } from '../../src/model.js';
import { availabilityOf } from './availability.js';
import { commandsFor, type EndpointFacts, type NodeFacts } from './command-mapping.js';
import { insecureReason, type SecurityFacts } from './security.js';
import { SECURITY_CLASS } from './s2-pairing.js';
import { CC, mapValue, type ZwaveValue } from './value-mapping.js';

/** The parts of a zwave-js value event the mapping needs (added / updated / notification all carry these). */
export type ValueEventArgs = Pick<
  ZWaveNodeValueUpdatedArgs,
  'commandClass' | 'commandClassName' | 'endpoint' | 'property' | 'propertyKey' | 'propertyKeyName'
>;

const WAKE_UP_INTERVAL = { commandClass: 0x84, property: 'wakeUpInterval' } as const;

/** A zwave-js value event as the pure mapping's input, with the unit from the value's metadata. */
export function zwaveValueOf(node: ZWaveNode, args: ValueEventArgs, value: unknown): ZwaveValue {
  const metadata = node.getValueMetadata(args) as { unit?: string };
  return {
    commandClass: args.commandClass,
    commandClassName: args.commandClassName,
    endpoint: args.endpoint ?? 0,
    property: args.property,
    propertyKey: args.propertyKey,
    propertyKeyName: args.propertyKeyName,
    value,
    unit: metadata.unit,
  };
}

/** What decides which commands the node takes, read from zwave-js's value DB. */
export function nodeFactsOf(node: ZWaveNode): NodeFacts {
  const root = endpointFactsOf(node, 0);
  const setpointTypes: unknown = node.getValue({
    commandClass: CC.thermostatSetpoint,
    property: 'supportedSetpointTypes',
  });
  const modeStates = (
    node.getValueMetadata({ commandClass: CC.thermostatMode, property: 'mode' }) as {
      states?: Record<string, string>;
    }
  ).states;
  const endpoints = new Map<number, EndpointFacts>();
  for (const index of node.getEndpointIndizes()) endpoints.set(index, endpointFactsOf(node, index));
  return {
    ...root,
    setpointTypes: Array.isArray(setpointTypes) ? setpointTypes.filter((t) => typeof t === 'number') : [],
    thermostatModes: modeStates === undefined ? [] : Object.keys(modeStates).map(Number),
    endpoints,
  };
}

/** One endpoint's command classes and switch state (index 0 is the root device). */
function endpointFactsOf(node: ZWaveNode, index: number): EndpointFacts {
  const commandClasses = new Set<number>();
  const endpoint = node.getEndpoint(index);
  for (const [cc, info] of endpoint?.getCCs() ?? []) if (info.isSupported) commandClasses.add(cc);
  const binary: unknown = node.getValue({
    commandClass: CC.binarySwitch,
    endpoint: index,
    property: 'currentValue',
  });
  const level: unknown = node.getValue({
    commandClass: CC.multilevelSwitch,
    endpoint: index,
    property: 'currentValue',
  });
  return {
    commandClasses,
    isOn: typeof binary === 'boolean' ? binary : typeof level === 'number' ? level > 0 : undefined,
  };
}

/** What zwave-js knows about the node's granted security, for `insecureReason`. */
export function securityFactsOf(node: ZWaveNode): SecurityFacts {
  const commandClasses = new Set<number>();
  for (const endpoint of node.getAllEndpoints())
    for (const [cc, info] of endpoint.getCCs()) if (info.isSupported) commandClasses.add(cc);
  return {
    commandClasses,
    highestClass: node.getHighestSecurityClass(),
    hasAccessControl: node.hasSecurityClass(SECURITY_CLASS.s2AccessControl),
    hasS0: node.hasSecurityClass(SECURITY_CLASS.s0Legacy),
  };
}

/** Why the node's commands cannot work (see `insecureReason`), or undefined. */
export function insecureReasonOf(node: ZWaveNode): string | undefined {
  return insecureReason(securityFactsOf(node));
}

/** The node's wake-up interval in seconds, when it is a sleeping node that reported one. */
export function wakeUpIntervalOf(node: ZWaveNode): number | undefined {
  const interval: unknown = node.getValue(WAKE_UP_INTERVAL);
  return typeof interval === 'number' ? interval : undefined;
}

/** Everything the gateway shows about one node, from the interview and the value DB. */
export function deviceInfoOf(
  node: ZWaveNode,
  context: { id: string; adapter: string; lastSeen: number; now: number; sleepGraceMs: number },
): DeviceInfo {
  const facts = nodeFactsOf(node);
  const values = new Set<string>();
  for (const valueId of node.getDefinedValueIDs()) {
    const mapped = mapValue(zwaveValueOf(node, valueId, node.getValue(valueId)));
    if (mapped !== undefined) values.add(mapped.name);
  }
  const config = node.deviceConfig;
  const info: DeviceInfo = {
    id: context.id,
    adapter: context.adapter,
    capabilities: { values: [...values].sort(), commands: commandsFor(facts) },
    availability: availabilityOf({
      status: node.status,
      wakeUpIntervalS: wakeUpIntervalOf(node),
      lastSeen: context.lastSeen,
      now: context.now,
      sleepGraceMs: context.sleepGraceMs,
    }),
    lastSeen: context.lastSeen,
    power:
      node.canSleep === true || facts.commandClasses.has(CC.battery)
        ? 'battery'
        : node.isListening
          ? 'mains'
          : 'unknown',
  };
  const name = node.name ?? config?.label;
  if (name !== undefined && name !== '') info.name = name;
  const manufacturer = config?.manufacturer ?? hexId(node.manufacturerId);
  if (manufacturer !== undefined) info.manufacturer = manufacturer;
  const model = config?.description ?? productId(node);
  if (model !== undefined) info.model = model;
  if (node.firmwareVersion !== undefined) info.firmware = node.firmwareVersion;
  const insecure = insecureReasonOf(node);
  if (insecure !== undefined) info.insecure = insecure;
  return info;
}

/** Without a device-database entry the ids are all there is; shown as zwave-js shows them. */
function productId(node: ZWaveNode): string | undefined {
  const type = hexId(node.productType);
  const id = hexId(node.productId);
  return type === undefined || id === undefined ? undefined : `${type}:${id}`;
}

function hexId(id: number | undefined): string | undefined {
  return id === undefined ? undefined : `0x${id.toString(16).padStart(4, '0')}`;
}
