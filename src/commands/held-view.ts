import type { CommandOrigin, DeviceId } from '../model.js';
import type { Pending } from './device-queues.js';

/** A held (or executing) command as `fieldgate commands list` shows it. */
export interface HeldCommand {
  id: string;
  device: DeviceId;
  name: string;
  route?: string;
  origin: CommandOrigin;
  /** Epoch ms the gateway received it; absent for commands stored by an older version. */
  receivedAt?: number;
  expiresAt: number;
  isExecuting: boolean;
}

/** Selects held commands for `held` and `purge`; an absent field selects all. */
export interface HeldFilter {
  device?: (device: DeviceId) => boolean;
  route?: string;
  id?: string;
}

/** The entries a filter selects, unanswered ones only, in arrival order. */
export function selectPending(entries: readonly Pending[], filter: HeldFilter): Pending[] {
  return entries
    .filter(({ stored: { command }, isDone }) => {
      if (isDone) return false;
      if (filter.route !== undefined && command.route !== filter.route) return false;
      if (filter.id !== undefined && command.id !== filter.id) return false;
      return filter.device === undefined || filter.device(command.device);
    })
    .sort((a, b) => a.stored.seq - b.stored.seq);
}

/** What an operator sees of a pending entry: everything but its args. */
export function toHeld({ stored, isExecuting }: Pending): HeldCommand {
  const { id, device, name, route, origin, receivedAt, expiresAt } = stored.command;
  return {
    id,
    device,
    name,
    ...(route === undefined ? {} : { route }),
    origin,
    ...(receivedAt === undefined ? {} : { receivedAt }),
    expiresAt,
    isExecuting,
  };
}
