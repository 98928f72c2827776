import { describe, expect, it } from 'vitest';
import {
  createSasToken,
  encodeUriComponentStrict,
  parseSasToken,
  signSas,
} from '../../../../../src/upstream/azure/protocol/sas.js';

// Test vectors V1, V3 and V4 of docs/clouds/azure-iot-hub.md#sas-tokens (computed with the Azure Node SDK).
const V1 = {
  input: {
    resourceUri: 'myhub.azure-devices.net/devices/sensor-01',
    keyBase64: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
    expiresAtS: 1735689600,
  },
  token:
    'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fsensor-01&sig=FeiI8tPFseGu6yjN2MP3oayG5%2B%2BJ%2FqsMENKVUaxO0r8%3D&se=1735689600',
};
const V3 = {
  input: {
    resourceUri: 'myhub.azure-devices.net',
    keyBase64: 'cG9saWN5LXNlY3JldC1rZXktbWF0ZXJpYWwtMzJieXRl',
    expiresAtS: 1735689600,
    policyName: 'iothubowner',
  },
  token:
    'SharedAccessSignature sr=myhub.azure-devices.net&sig=P2ZhqVxduVoWU2OKsseXDpn8DTwOmfiAU7CE8KaGC%2BY%3D&skn=iothubowner&se=1735689600',
};

// The gateway case: one DeviceConnect policy token (built-in policy `device`) for every device of the hub.
const V4 = {
  input: {
    resourceUri: 'myhub.azure-devices.net/devices',
    keyBase64: 'ZGV2aWNlLWNvbm5lY3QtcG9saWN5LWtleS0zMmJ5dGVz',
    expiresAtS: 1767225600,
    policyName: 'device',
  },
  token:
    'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices&sig=tyZqsZSUdsxJWVc2wfb5Fo61x%2BiDZPJK8JFuTX2h9LM%3D&skn=device&se=1767225600',
};

describe('SAS tokens', () => {
  it.each([
    ['V1 device key', V1],
    ['V3 hub policy', V3],
    ['V4 DeviceConnect policy for all devices', V4],
  ])('reproduces reference vector %s byte for byte', (_name, vector) => {
    expect(createSasToken(vector.input)).toBe(vector.token);
  });

  it('signs the encoded sr, not the lower-case or unencoded form', () => {
    const key = V1.input.keyBase64;
    expect(signSas(key, 'myhub.azure-devices.net%2fdevices%2fsensor-01', '1735689600')).toBe(
      'ZZJAcmomy0a8B27i8QS7wnpPnameexN9GZs9VfWlbLo=',
    );
    expect(signSas(key, 'myhub.azure-devices.net/devices/sensor-01', '1735689600')).toBe(
      't974LakUPWv5eEmH71MpPNJ/HJiOO37qEba7AiNCX78=',
    );
  });

  it("encodes reserved characters of device ids like the Node SDK (lower-case hex for !'()*)", () => {
    expect(encodeUriComponentStrict("h/devices/a:b@c=$(x)*!'")).toBe(
      'h%2Fdevices%2Fa%3Ab%40c%3D%24%28x%29%2a%21%27',
    );
  });

  it('parses fields in any order and refuses malformed tokens', () => {
    expect(parseSasToken('SharedAccessSignature se=10&skn=device&sig=abc%3D&sr=h')).toEqual({
      srLiteral: 'h',
      sigLiteral: 'abc%3D',
      se: '10',
      skn: 'device',
    });
    expect(parseSasToken('SharedAccessSignature sr=h&sig=x')).toBeUndefined();
    expect(parseSasToken('Bearer sr=h&sig=x&se=1')).toBeUndefined();
    expect(parseSasToken('SharedAccessSignature sr=h&sig=x&se=soon')).toBeUndefined();
  });
});
