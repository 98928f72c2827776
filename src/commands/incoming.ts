import type { DeviceCommand } from '../model.js';

/**
 * A command as an upstream hands it to the command router: parsed from the cloud's terms into a
 * `DeviceCommand`, or `invalid` with the reason (it still deserves a result). The router owns this type;
 * the upstream contract (`src/upstream/upstream.ts`) and the connectors import it from here.
 */
export type IncomingCommand =
  | { kind: 'command'; command: DeviceCommand }
  /** `isOversize`: refused unread for its size (counted apart from other malformed commands). */
  | { kind: 'invalid'; id: string; reason: string; device?: string; isOversize?: boolean };

/** Takes one incoming command; called synchronously by the upstream that received it. */
export type CommandHandler = (incoming: IncomingCommand) => void;

/** The id a result for `incoming` carries. */
export function incomingId(incoming: IncomingCommand): string {
  return incoming.kind === 'command' ? incoming.command.id : incoming.id;
}
