import type { Receiver, Sender } from 'rhea';

/** Accept a link: our attach names the source and target the peer asked for. */
export function echoTermini(link: Sender | Receiver): void {
  link.set_source(link.source);
  link.set_target(link.target);
}

/** The address of a link's source or target, '' when it has none. */
export function addressOf(terminus: unknown): string {
  const address = (terminus as { address?: unknown } | undefined)?.address;
  return typeof address === 'string' ? address : '';
}

/**
 * The device of `/devices/{id}/messages/{kind}`, relative or absolute (`amqps://host:5671/devices/…`),
 * `devicebound` in either case as the SDKs write it.
 */
export function deviceOf(address: string, kind: 'events' | 'devicebound'): string | undefined {
  const path = address.replace(/^amqps?:\/\/[^/]+/, '');
  const match = new RegExp(`^/devices/([^/]+)/messages/${kind}$`, 'i').exec(path);
  return match === null ? undefined : decodeURIComponent(match[1]!);
}
