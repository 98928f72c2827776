import { timingSafeEqual } from 'node:crypto';
import { parseSasToken, signSas } from '../../src/upstream/azure/protocol/sas.js';
import type { HubRegistry } from './registry.js';

export type SasCheck =
  { ok: true; expiresAtS: number; scope: 'device' | 'hub' } | { ok: false; reason: string };

/**
 * Check a SAS token for a connection of `deviceId` (`{device}/{module}` for a module identity, checked
 * against the module's own keys; undefined: a hub-scoped policy token put on an AMQP
 * CBS link before any device is named, which must then cover every device), as the hub does
 * (docs/clouds/azure-iot-hub.md#sas-tokens): any field order;
 * unexpired; no `skn` → the device's primary then secondary key, `skn` → that policy's key and the
 * DeviceConnect permission; the HMAC over the *literal* `sr`; the decoded `sr` a segment-wise prefix of
 * `{host}/devices/{deviceId}` with the host compared case-insensitively.
 */
export function checkSasToken(
  registry: HubRegistry,
  token: string,
  deviceId: string | undefined,
  nowS: number,
): SasCheck {
  const parsed = parseSasToken(token);
  if (parsed === undefined) return { ok: false, reason: 'malformed token' };
  const expiresAtS = Number(parsed.se);
  if (expiresAtS <= nowS) return { ok: false, reason: 'token expired' };
  let resource: string;
  let signature: string;
  try {
    resource = decodeURIComponent(parsed.srLiteral);
    signature = decodeURIComponent(parsed.sigLiteral);
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (!coversDevice(resource, registry.hostName, deviceId)) {
    return { ok: false, reason: `token scope ${resource} does not cover device ${deviceId ?? '*'}` };
  }
  const device = deviceId === undefined ? undefined : registry.device(deviceId);
  if (deviceId !== undefined && device === undefined) {
    return { ok: false, reason: `device ${deviceId} is not registered` };
  }
  if (device?.enabled === false) return { ok: false, reason: `device ${deviceId} is disabled` };
  // A module (`{device}/{module}`) lives under its device: no module without an enabled device.
  const parentId = deviceId?.includes('/') === true ? deviceId.split('/')[0]! : undefined;
  if (parentId !== undefined && registry.device(parentId)?.enabled !== true) {
    return { ok: false, reason: `device ${parentId} of module ${deviceId} is not registered or disabled` };
  }

  let keys: (string | undefined)[];
  if (parsed.skn === undefined) {
    if (device === undefined) return { ok: false, reason: 'a token for all devices needs a policy' };
    keys = [device.primaryKey, device.secondaryKey];
  } else {
    const policy = registry.policy(parsed.skn);
    if (policy === undefined) return { ok: false, reason: `no policy ${parsed.skn}` };
    if (!policy.permissions.includes('DeviceConnect')) {
      return { ok: false, reason: `policy ${parsed.skn} lacks DeviceConnect` };
    }
    keys = [policy.key];
  }
  const given = Buffer.from(signature);
  for (const key of keys) {
    if (key === undefined) continue;
    const expected = Buffer.from(signSas(key, parsed.srLiteral, parsed.se));
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      return { ok: true, expiresAtS, scope: parsed.skn === undefined ? 'device' : 'hub' };
    }
  }
  return { ok: false, reason: 'signature does not match' };
}

/**
 * True when `resource` is `host`, `host/devices` or `host/devices/{id}[/…]` for this device; for no
 * device, only `host` or `host/devices`.
 */
function coversDevice(resource: string, hostName: string, deviceId: string | undefined): boolean {
  const [host, ...path] = resource.replace(/\/+$/, '').split('/');
  if (host?.toLowerCase() !== hostName.toLowerCase()) return false;
  // A module `{d}/{m}` is the resource `{host}/devices/{d}/modules/{m}` (docs/clouds/azure-iot-hub.md#module-identities).
  const [device, module] = deviceId?.split('/') ?? [];
  const wanted =
    device === undefined
      ? ['devices']
      : module === undefined
        ? ['devices', device]
        : ['devices', device, 'modules', module];
  // A module-scoped token is narrower than the device endpoint, so it does not cover it.
  return path.length <= wanted.length && path.every((segment, i) => segment === wanted[i]);
}
