import { expect, it } from 'vitest';
import { driverSecurityKeys, zwaveOptionsSchema } from '../../../../adapters/zwave/options.js';

const KEY = '0102030405060708090a0b0c0d0e0f10';

it('turns configured hex keys into the 16-byte keys zwave-js takes, leaving absent keys out', () => {
  const keys = driverSecurityKeys({
    serialPort: 'tcp://127.0.0.1:5555',
    securityKeys: { s2Authenticated: KEY, s0Legacy: undefined },
    securityKeysLongRange: { s2AccessControl: KEY },
    reopen: { initialMs: 1, maxMs: 1 },
    sleepGraceMs: 0,
    allowedDsks: [],
    exclusionTimeoutMs: 1,
  });
  expect(Object.keys(keys.securityKeys)).toEqual(['S2_Authenticated']);
  expect(keys.securityKeys.S2_Authenticated).toEqual(Uint8Array.from(Buffer.from(KEY, 'hex')));
  expect(keys.securityKeysLongRange.S2_AccessControl?.length).toBe(16);
});

it('fills defaults and refuses a key that is not 16 bytes of hex', () => {
  const parsed = zwaveOptionsSchema.parse({ serialPort: '/dev/serial/by-id/usb-stick' });
  expect(parsed).toMatchObject({
    reopen: { initialMs: 2000, maxMs: 60_000 },
    securityKeys: {},
  });
  const bad = zwaveOptionsSchema.safeParse({
    serialPort: '/dev/ttyACM0',
    securityKeys: { s0Legacy: 'abc' },
  });
  expect(bad.success).toBe(false);
});
