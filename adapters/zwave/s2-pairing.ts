import type { PairingSecrets } from '../adapter.js';
import { FieldgateError } from '../../src/errors.js';
import type { ZwaveOptions } from './options.js';

/** zwave-js's `SecurityClass` numbers (@zwave-js/core), mirrored so this module stays pure. */
export const SECURITY_CLASS = {
  none: -1,
  s2Unauthenticated: 0,
  s2Authenticated: 1,
  s2AccessControl: 2,
  s0Legacy: 7,
} as const;

const DSK = /^\d{5}(-\d{5}){7}$/;
const PIN = /^\d{5}$/;

/**
 * Checks the secrets given with a pairing request before the window opens, so a typo is an error the
 * operator sees at once rather than a silently insecure inclusion.
 */
export function checkPairingSecrets(secrets: PairingSecrets): void {
  if (secrets.dsk !== undefined && !DSK.test(secrets.dsk))
    throw new FieldgateError('FG_USAGE', 'dsk must be 8 groups of 5 digits: 12345-12345-…-12345');
  if (secrets.pin !== undefined && !PIN.test(secrets.pin))
    throw new FieldgateError(
      'FG_USAGE',
      'pin must be the 5 digits printed on the device (the DSK’s first group)',
    );
}

/**
 * The answer to zwave-js's `validateDSKAndEnterPIN`: the 5-digit PIN, or `undefined` to refuse S2
 * Authenticated / Access Control for this node. zwave-js shows the joining node's DSK without its first
 * group (the PIN) — `-bbbbb-ccccc-…`; a full DSK we know (from the request or the configured allow-list)
 * matches when the rest is equal, and then its first group is the PIN. A bare PIN from the request is
 * trusted as typed: the operator read it off the device they are pairing.
 */
export function pinFor(
  partialDsk: string,
  secrets: PairingSecrets,
  allowedDsks: readonly string[],
): string | undefined {
  if (secrets.dsk !== undefined)
    return matches(secrets.dsk, partialDsk) ? secrets.dsk.slice(0, 5) : undefined;
  if (secrets.pin !== undefined) return secrets.pin;
  return allowedDsks.find((dsk) => matches(dsk, partialDsk))?.slice(0, 5);
}

/**
 * The security classes to grant: those the node asked for and the gateway has a network key for. Granting a
 * class without its key would only make bootstrapping fail. Client-side authentication is never granted:
 * the gateway has no way to show its own DSK on the device.
 */
export function grantFor(
  requested: readonly number[],
  keys: ZwaveOptions['securityKeys'],
): { securityClasses: number[]; clientSideAuth: false } {
  const available = new Set<number>();
  if (keys.s2Unauthenticated !== undefined) available.add(SECURITY_CLASS.s2Unauthenticated);
  if (keys.s2Authenticated !== undefined) available.add(SECURITY_CLASS.s2Authenticated);
  if (keys.s2AccessControl !== undefined) available.add(SECURITY_CLASS.s2AccessControl);
  if (keys.s0Legacy !== undefined) available.add(SECURITY_CLASS.s0Legacy);
  return { securityClasses: requested.filter((c) => available.has(c)), clientSideAuth: false };
}

function matches(fullDsk: string, partialDsk: string): boolean {
  return fullDsk.slice(5) === partialDsk;
}
