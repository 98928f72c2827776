import type { ZWaveNode } from 'zwave-js';
import type { ValueWrite } from './command-mapping.js';
import type { WriteOutcome } from './result-mapping.js';

interface ValueIdProps {
  property: string | number;
  propertyKey?: string | number;
}

/** zwave-js's `SetValueAPIOptions` as used here: the transition time (`Duration` in its object form). */
interface SetValueOptions {
  transitionDuration?: { value: number; unit: 'seconds' | 'minutes' };
}

/** zwave-js's per-value hooks that keep the value DB in step after a successful set. */
interface SetValueHooks {
  optimisticallyUpdateRelatedValues?: (supervisedAndSuccessful: boolean) => void;
  verifyChanges?: (result?: unknown) => void | Promise<void>;
}

/** The slice of a zwave-js CC API (`endpoint.commandClasses[cc]`) used to write one value. */
interface WritableCcApi {
  readonly setValue?: (
    this: WritableCcApi,
    id: ValueIdProps,
    value: unknown,
    options: SetValueOptions,
  ) => Promise<unknown>;
  readonly setValueHooks?: (id: ValueIdProps, value: unknown, options: object) => SetValueHooks | undefined;
  /** Whether the written value may be stored as the value before the device reports it. */
  readonly isSetValueOptimistic?: (
    this: WritableCcApi,
    id: ValueIdProps & { commandClass: number },
  ) => boolean;
  withOptions(options: { expire?: number }): WritableCcApi;
}

/** Supervision CC status values (Z-Wave Supervision Command Class). */
const SUPERVISION_SUCCESS = 0xff;
const SUPERVISION_WORKING = 0x01;

/**
 * Writes one value through the command class API rather than `node.setValue`, because only the CC API
 * takes zwave-js's `expire` option, which removes a still-queued message at the command's TTL. After a
 * successful write it runs zwave-js's own set-value hooks, as `node.setValue` does, so the new state
 * reaches the value DB (and so the readings) and is verified the way zwave-js verifies it.
 */
export async function writeValue(
  node: ZWaveNode,
  write: ValueWrite,
  expireMs: number | undefined,
  errorCodes: Record<number, string>,
): Promise<WriteOutcome> {
  const endpoint = node.getEndpoint(write.endpoint);
  if (endpoint === undefined) {
    return {
      kind: 'error',
      errorCode: 'CC_NotSupported',
      message: `endpoint ${write.endpoint} does not exist`,
    };
  }
  const id: ValueIdProps = { property: write.property };
  if (write.propertyKey !== undefined) id.propertyKey = write.propertyKey;
  try {
    const base = (endpoint.commandClasses as unknown as Record<number, WritableCcApi>)[write.commandClass];
    const api = base === undefined || expireMs === undefined ? base : base.withOptions({ expire: expireMs });
    if (api?.setValue === undefined) {
      return { kind: 'error', errorCode: 'CC_NotImplemented', message: 'this value cannot be set' };
    }
    const options = setValueOptions(write);
    const hooks = api.setValueHooks?.(id, write.value, options);
    const result = await api.setValue.call(api, id, write.value, options);
    const supervision = supervisionOf(result);
    storeWrittenValue(node, write, api, supervision);
    if (supervision === undefined || supervision.status === SUPERVISION_SUCCESS) {
      hooks?.optimisticallyUpdateRelatedValues?.(supervision !== undefined);
      await hooks?.verifyChanges?.(result);
    }
    return supervision === undefined ? { kind: 'sent' } : { kind: 'sent', supervision };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return {
      kind: 'error',
      errorCode: typeof code === 'number' ? errorCodes[code] : undefined,
      message: e instanceof Error ? e.message : String(e),
    };
  }
}

/**
 * Stores the written value as `node.setValue` does. A value that is its own state (a thermostat setpoint
 * or mode, a configuration parameter) has no other report to come after a Supervision success — zwave-js
 * does not poll then — so without this the reading would keep the old value. Supervised and accepted: the
 * value is stored with an event (and so becomes a reading); unsupervised: stored silently, the reading
 * follows zwave-js's verification poll. Not for slow actuators (covers, motors), whose state moves later.
 */
function storeWrittenValue(
  node: ZWaveNode,
  write: ValueWrite,
  api: WritableCcApi,
  supervision: { status: number } | undefined,
): void {
  const accepted =
    supervision === undefined ||
    supervision.status === SUPERVISION_SUCCESS ||
    supervision.status === SUPERVISION_WORKING;
  if (!accepted) return;
  const valueId = { commandClass: write.commandClass, endpoint: write.endpoint, property: write.property };
  const id = write.propertyKey === undefined ? valueId : { ...valueId, propertyKey: write.propertyKey };
  if (api.isSetValueOptimistic?.call(api, id) !== true) return;
  const specific = node.getEndpoint(write.endpoint)?.deviceClass?.specific as
    { isSlowActuator?: boolean } | undefined;
  if (specific?.isSlowActuator === true) return;
  node.valueDB.setValue(
    id,
    write.value,
    supervision === undefined
      ? { noEvent: true, updateTimestamp: false }
      : { source: 'driver', updateTimestamp: true },
  );
}

/**
 * A Z-Wave Duration holds 0–127 seconds, or 1–127 minutes (Z-Wave Application CC spec, Duration); longer
 * transitions round to whole minutes.
 */
function setValueOptions(write: ValueWrite): SetValueOptions {
  const seconds = write.durationS;
  if (seconds === undefined) return {};
  return {
    transitionDuration:
      seconds <= 127
        ? { value: seconds, unit: 'seconds' }
        : { value: Math.round(seconds / 60), unit: 'minutes' },
  };
}

function supervisionOf(result: unknown): { status: number; remainingDurationMs?: number } | undefined {
  if (typeof result !== 'object' || result === null || !('status' in result)) return undefined;
  const { status, remainingDuration } = result as {
    status: unknown;
    remainingDuration?: { toMilliseconds?: () => number };
  };
  if (typeof status !== 'number') return undefined;
  const remainingMs = remainingDuration?.toMilliseconds?.();
  return remainingMs === undefined ? { status } : { status, remainingDurationMs: remainingMs };
}
