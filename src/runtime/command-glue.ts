import type { AdapterHost } from '../adapter-host.js';
import type { IncomingCommand } from '../commands/incoming.js';
import type { CommandTarget } from '../commands/router.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { DeviceId, DeviceInfo } from '../model.js';

/**
 * A cloud command addressed by the device's name (`<commands>/living room`) as one addressed by its id,
 * as the CLI does. An id, an unknown name or one several devices share is left as it is: the router
 * answers what it cannot place `rejected`.
 */
export function byDeviceId(devices: DeviceRegistry, incoming: IncomingCommand): IncomingCommand {
  if (incoming.kind !== 'command' || devices.get(incoming.command.device) !== undefined) return incoming;
  let id: string | undefined;
  try {
    id = devices.resolve(incoming.command.device);
  } catch {
    return incoming;
  }
  return id === undefined ? incoming : { kind: 'command', command: { ...incoming.command, device: id } };
}

/** The device a command is for and the running adapter that owns it; undefined when either is unknown. */
export function commandTarget(
  devices: DeviceRegistry,
  adapters: readonly AdapterHost[],
  id: DeviceId,
): { info: DeviceInfo; target: CommandTarget } | undefined {
  const entry = devices.get(id);
  const adapter = adapters.find((a) => a.name === entry?.adapter)?.adapter;
  return entry === undefined || adapter === undefined ? undefined : { info: entry.info, target: adapter };
}
