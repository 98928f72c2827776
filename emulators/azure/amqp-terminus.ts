import type { Receiver, Sender } from 'rhea';

/** Accept a link: our attach names the source and target the peer asked for. */
export function echoTermini(link: Sender | Receiver): void {
  link.set_source(link.source);
  link.set_target(link.target);
}

/**
 * The address of a link's source or target, '' when it has none. A module's address
 * `/devices/{d}/modules/{m}/…` (docs/clouds/azure-iot-hub.md#module-identities) comes back as
 * `/devices/{d}%2F{m}/…`, so the device parsers below name the identity `{d}/{m}` (device ids never
 * contain `/`).
 */
export function addressOf(terminus: unknown): string {
  const address = (terminus as { address?: unknown } | undefined)?.address;
  if (typeof address !== 'string') return '';
  return address.replace(/(^|\/)devices\/([^/]+)\/modules\/([^/]+)\//i, '$1devices/$2%2F$3/');
}

/** Whether an identity is a module (`{device}/{module}`), which has no C2D queue. */
export function isModule(identity: string): boolean {
  return identity.includes('/');
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
