import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/**
 * Whether a host to bind or connect to stays on this machine: 127.0.0.0/8, ::1 (also bracketed or
 * IPv4-mapped), `localhost` and `*.localhost` (RFC 6761 keeps those on loopback). Everything else — the
 * wildcards 0.0.0.0 and ::, an empty host (every interface), a LAN address, any other name — is not.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  const family = isIP(name);
  if (family === 4) return LOOPBACK.check(name, 'ipv4');
  if (family === 6) return LOOPBACK.check(name, 'ipv6');
  return false;
}

/** The host part of `host:port` (`[::]:9464` → `::`); the whole string when there is no port. */
export function hostOfListen(listen: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(listen);
  if (bracketed !== null) return bracketed[1]!;
  const separator = listen.lastIndexOf(':');
  // A bare IPv6 address has colons but no port.
  if (separator === -1 || isIP(listen) === 6) return listen;
  return listen.slice(0, separator);
}
