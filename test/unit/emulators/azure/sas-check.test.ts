import { describe, expect, it } from 'vitest';
import { checkSasToken } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { createSasToken } from '../../../../src/upstream/azure/protocol/sas.js';

const HOST = 'myhub.azure-devices.net';
const DEVICE_KEY = 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=';
const POLICY_KEY = 'cG9saWN5LXNlY3JldC1rZXktbWF0ZXJpYWwtMzJieXRl';
const NOW_S = 1735680000;
const registry = new HubRegistry({
  hostName: HOST,
  devices: {
    'sensor-01': { primaryKey: 'c2Vjb25kYXJ5LWlzLW5vdC10aGlzLW9uZQ==', secondaryKey: DEVICE_KEY },
    "odd:@=$()*!'": { primaryKey: DEVICE_KEY },
  },
  policies: {
    device: { key: POLICY_KEY, permissions: ['DeviceConnect'] },
    iothubowner: { key: POLICY_KEY, permissions: ['RegistryRead', 'ServiceConnect'] },
  },
});
const token = (resourceUri: string, keyBase64 = DEVICE_KEY, policyName?: string, expiresAtS = 1735689600) =>
  createSasToken({ resourceUri, keyBase64, expiresAtS, ...(policyName === undefined ? {} : { policyName }) });

describe('the emulator checks SAS tokens as the hub does', () => {
  it('accepts reference vector V1 (signed with the secondary key)', () => {
    const v1 =
      'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fsensor-01&sig=FeiI8tPFseGu6yjN2MP3oayG5%2B%2BJ%2FqsMENKVUaxO0r8%3D&se=1735689600';
    expect(checkSasToken(registry, v1, 'sensor-01', NOW_S)).toMatchObject({ ok: true, scope: 'device' });
  });

  it('accepts a device id with reserved characters, strictly encoded', () => {
    expect(checkSasToken(registry, token(`${HOST}/devices/odd:@=$()*!'`), "odd:@=$()*!'", NOW_S).ok).toBe(
      true,
    );
  });

  it.each([
    ['a DeviceConnect policy scoped to the hub', token(HOST, POLICY_KEY, 'device')],
    ['a DeviceConnect policy scoped to all devices', token(`${HOST}/devices`, POLICY_KEY, 'device')],
    [
      'a DeviceConnect policy scoped to this device',
      token(`${HOST}/devices/sensor-01`, POLICY_KEY, 'device'),
    ],
    ['an upper-case host', token(`MYHUB.azure-devices.net/devices/sensor-01`)],
  ])('accepts %s', (_name, sas) => {
    expect(checkSasToken(registry, sas, 'sensor-01', NOW_S).ok).toBe(true);
  });

  it.each([
    ['an expired token', token(`${HOST}/devices/sensor-01`, DEVICE_KEY, undefined, NOW_S), 'expired'],
    ['another device’s scope', token(`${HOST}/devices/sensor-02`), 'does not cover'],
    ['a segment that only shares a prefix', token(`${HOST}/devices/sensor-0`), 'does not cover'],
    ['a module scope', token(`${HOST}/devices/sensor-01/modules/m`), 'does not cover'],
    ['another hub', token(`other.azure-devices.net/devices/sensor-01`), 'does not cover'],
    ['a wrong key', token(`${HOST}/devices/sensor-01`, POLICY_KEY), 'signature'],
    ['a policy without DeviceConnect', token(HOST, POLICY_KEY, 'iothubowner'), 'DeviceConnect'],
    ['an unknown policy', token(HOST, POLICY_KEY, 'nobody'), 'no policy'],
    ['garbage', 'SharedAccessSignature nonsense', 'malformed'],
  ])('refuses %s', (_name, sas, reason) => {
    const check = checkSasToken(registry, sas, 'sensor-01', NOW_S);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toContain(reason);
  });

  it('refuses an unregistered or disabled device', () => {
    const disabled = new HubRegistry({
      hostName: HOST,
      devices: { d: { primaryKey: DEVICE_KEY, enabled: false } },
    });
    expect(checkSasToken(disabled, token(`${HOST}/devices/d`), 'd', NOW_S)).toEqual({
      ok: false,
      reason: 'device d is disabled',
    });
    expect(checkSasToken(disabled, token(`${HOST}/devices/e`), 'e', NOW_S)).toEqual({
      ok: false,
      reason: 'device e is not registered',
    });
  });
});
