import { timingSafeEqual } from 'node:crypto';
import { parseSasToken, signSas } from '../../src/upstream/azure/protocol/sas.js';
import type { HubRegistry, PolicyEntry } from './registry.js';

export type ServicePermission = PolicyEntry['permissions'][number];

export type ServiceAuth = { ok: true; expiresAtS: number } | { ok: false; status: 401; reason: string };

/**
 * Check a service-side SAS token as the hub does for its back-end endpoints
 * (docs/clouds/azure-iot-hub.md#service-side): `sr` is the hub itself (any of `hostNames`, compared
 * case-insensitively: the hub's name, or the `host:port` a local service client reached the emulator by),
 * `skn` names a shared access policy that has `permission`, the HMAC over the literal `sr` and `se` is
 * that policy's key, and the token has not expired.
 */
export function checkServiceToken(
  registry: HubRegistry,
  token: string,
  hostNames: readonly string[],
  permission: ServicePermission,
  nowS: number,
): ServiceAuth {
  const refuse = (reason: string): ServiceAuth => ({ ok: false, status: 401, reason });
  const parsed = parseSasToken(token);
  if (parsed === undefined) return refuse('malformed token');
  const expiresAtS = Number(parsed.se);
  if (!(expiresAtS > nowS)) return refuse('token expired');
  let resource: string;
  let signature: string;
  try {
    resource = decodeURIComponent(parsed.srLiteral).replace(/\/+$/, '').toLowerCase();
    signature = decodeURIComponent(parsed.sigLiteral);
  } catch {
    return refuse('malformed token');
  }
  if (!hostNames.some((name) => name.toLowerCase() === resource)) {
    return refuse(`token scope ${resource} is not this hub`);
  }
  if (parsed.skn === undefined) return refuse('a service token needs a policy (skn)');
  const policy = registry.policy(parsed.skn);
  if (policy === undefined) return refuse(`no policy ${parsed.skn}`);
  if (!policy.permissions.includes(permission)) return refuse(`policy ${parsed.skn} lacks ${permission}`);
  const expected = Buffer.from(signSas(policy.key, parsed.srLiteral, parsed.se));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return refuse('signature does not match');
  }
  return { ok: true, expiresAtS };
}
