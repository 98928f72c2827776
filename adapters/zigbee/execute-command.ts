import { errorMessage } from '../../src/errors.js';
import type { CommandResult, DeviceCommand } from '../../src/model.js';
import { sendWrites } from './converters.js';
import { planCommand } from './exposes.js';
import type { ZigbeeDevice } from './zigbee-device.js';

export interface ExecuteEnvironment {
  now(): number;
  /** True while the coordinator is open. */
  isOpen(): boolean;
  /** Aborted when the adapter stops. */
  stopSignal: AbortSignal;
}

/**
 * One command to one device (docs/architecture.md#commands): validated against the definition's exposes, held
 * until a
 * sleepy device polls, never sent once `signal` (the command's TTL) has fired or `expiresAt` has passed,
 * and answered by the device's ZCL default response (`ok`) or its failure status or absence (`failed`).
 */
export async function executeCommand(
  device: ZigbeeDevice,
  cmd: DeviceCommand,
  signal: AbortSignal,
  env: ExecuteEnvironment,
): Promise<CommandResult> {
  const plan = planCommand(cmd, device.properties);
  if (!plan.ok) return { id: cmd.id, status: plan.status, detail: plan.detail };
  const isExpired = (): boolean =>
    signal.aborted || (cmd.expiresAt !== undefined && env.now() >= cmd.expiresAt);
  const expired: CommandResult = {
    id: cmd.id,
    status: 'expired',
    detail: 'the command expired before the device polled',
  };
  if (isExpired()) return expired;
  if (!device.isAwake(env.now())) {
    // The router normally waits for deviceAwake; this keeps a command to a sleeping device from being
    // sent into the void if it is called early.
    await device.nextWake(AbortSignal.any([signal, env.stopSignal]));
    if (env.stopSignal.aborted) return { id: cmd.id, status: 'failed', detail: 'the adapter stopped' };
    if (isExpired()) return expired;
  }
  if (!env.isOpen()) return { id: cmd.id, status: 'failed', detail: 'the Zigbee coordinator is unavailable' };
  let data: Record<string, unknown>;
  try {
    data = await sendWrites(device, plan.writes, plan.transition);
  } catch (e) {
    return { id: cmd.id, status: 'failed', detail: errorMessage(e) };
  }
  return { id: cmd.id, status: 'ok', ...(Object.keys(data).length > 0 ? { data } : {}) };
}
