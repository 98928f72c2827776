import { describe, expect, it } from 'vitest';
import { azureUpstreamSchema } from '../../../../../src/config/upstreams/azure.js';
import {
  defaultHubDeviceId,
  deriveDeviceKey,
  LeafIdentities,
} from '../../../../../src/upstream/azure/per-device/leaf-identity.js';

const HOST = 'myhub.azure-devices.net';
const OWN_KEY = Buffer.from('own-key').toString('base64');
const GROUP_KEY = 'Z3JvdXAta2V5LWZvci10ZXN0cy1vbmx5LTAwMDAwMDM=';
const POLICY_KEY = Buffer.from('policy-key').toString('base64');

function identities(config: Record<string, unknown>): LeafIdentities {
  return new LeafIdentities(
    azureUpstreamSchema.parse({
      type: 'azure',
      protocol: 'amqp',
      identity: 'perDevice',
      hostName: HOST,
      ...config,
    }),
  );
}

describe('leaf identities (perDevice)', () => {
  it('derives a group member key as DPS does: base64(HMAC-SHA256(base64-decoded group key, device id))', () => {
    // Computed apart with: echo -n sim:switch-01 | openssl dgst -sha256 -mac HMAC -macopt hexkey:<group key hex> -binary | base64
    expect(deriveDeviceKey(GROUP_KEY, 'sim:switch-01')).toBe('6LHAb3KC5fcUB9ZSuZd+U72hyVab2IyYfBT9V4V5n6k=');
  });

  it('keeps hub-safe leaf ids and replaces the other characters with _', () => {
    expect(defaultHubDeviceId('sim:thermo-01')).toBe('sim:thermo-01');
    expect(defaultHubDeviceId('zigbee/0x00158d00 #1+é')).toBe('zigbee_0x00158d00__1__');
  });

  it('takes the leaf’s own key first, then the group key, then the policy', () => {
    const ids = identities({
      leaves: { 'sim:a': { sharedAccessKey: OWN_KEY, deviceId: 'hub-a' } },
      groupKey: GROUP_KEY,
      sharedAccessKey: POLICY_KEY,
      sharedAccessKeyName: 'device',
    });
    expect(ids.resolve('sim:a')).toMatchObject({
      kind: 'ok',
      identity: { deviceId: 'hub-a', hostName: HOST, auth: { kind: 'sas', keyBase64: OWN_KEY } },
    });
    expect(ids.resolve('sim:b')).toMatchObject({
      identity: { deviceId: 'sim:b', auth: { keyBase64: deriveDeviceKey(GROUP_KEY, 'sim:b') } },
    });
    const policyOnly = identities({ sharedAccessKey: POLICY_KEY, sharedAccessKeyName: 'device' });
    expect(policyOnly.resolve('sim:b')).toMatchObject({
      identity: { auth: { keyBase64: POLICY_KEY, policyName: 'device' } },
    });
    expect(ids.leafOf('hub-a')).toBe('sim:a');
  });

  it('gives no identity without a key, and none to a second leaf mapping to a taken hub device id', () => {
    // A device key without a policy name is the gateway's own: it proves nothing for a leaf.
    const ids = identities({ sharedAccessKey: OWN_KEY, groupKey: undefined });
    expect(ids.resolve('sim:a')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('no key') as string,
    });
    const grouped = identities({ groupKey: GROUP_KEY });
    expect(grouped.resolve('ble/1')).toMatchObject({ kind: 'ok', identity: { deviceId: 'ble_1' } });
    expect(grouped.resolve('ble 1')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('ble/1') as string,
    });
  });

  it('refuses a configured hub device id the hub would not accept', () => {
    expect(() => identities({ leaves: { a: { deviceId: 'has space' } } })).toThrow();
  });
});
