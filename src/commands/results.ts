import type { CommandResult, CommandStatus, DeviceCommand } from '../model.js';

/** Where a command's result goes. `device` is '' for a malformed command that named no device. */
export type ResultAddress = Pick<DeviceCommand, 'id' | 'device' | 'route' | 'origin'>;

export const COMMAND_STATUSES: readonly CommandStatus[] = [
  'ok',
  'failed',
  'expired',
  'rejected',
  'unsupported',
];

/** Only what `publishResult` needs: a command's args stay out of its result's way back. */
export function addressOf(command: ResultAddress): ResultAddress {
  const { id, device, origin, route } = command;
  return route === undefined ? { id, device, origin } : { id, device, origin, route };
}

/** The adapter's result under the command's id, or `failed` when the adapter broke its contract. */
export function checked(id: string, result: CommandResult): CommandResult {
  const isValid = typeof result === 'object' && result !== null && COMMAND_STATUSES.includes(result.status);
  return isValid ? { ...result, id } : failed(id, 'the adapter returned no valid result');
}

export function rejected(id: string, detail: string): CommandResult {
  return { id, status: 'rejected', detail };
}

export function failed(id: string, detail: string): CommandResult {
  return { id, status: 'failed', detail };
}

export function expired(id: string, detail: string): CommandResult {
  return { id, status: 'expired', detail };
}

/**
 * The identity of a command for recognising redeliveries: its id within the route it came on (or within
 * its origin, for commands that came on no route, such as the CLI's). The same id on two routes is two
 * commands, each with its own result.
 */
export function scopedId(command: Pick<ResultAddress, 'id' | 'route' | 'origin'>): string {
  const scope = command.route === undefined ? `origin:${command.origin}` : `route:${command.route}`;
  return `${scope}\u0000${command.id}`;
}

/**
 * The id a result may carry back: the command's own id, or, when that is over `maxIdLength` characters,
 * its first `maxIdLength` (so a result never echoes an arbitrarily large id, and the sender can still tell
 * by the prefix which command it answers).
 */
export function shownId(id: string, maxIdLength: number): string {
  return id.length > maxIdLength ? id.slice(0, maxIdLength) : id;
}
