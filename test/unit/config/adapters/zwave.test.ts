import { expect, it } from 'vitest';
import { zwaveAdapterSchema } from '../../../../src/config/adapters/zwave.js';

it('fills defaults and refuses a key that is not 16 bytes of hex', () => {
  const parsed = zwaveAdapterSchema.parse({ type: 'zwave', serialPort: '/dev/serial/by-id/usb-stick' });
  expect(parsed).toMatchObject({
    enabled: true,
    reopen: { initialMs: 2000, maxMs: 60_000 },
    securityKeys: {},
  });
  const bad = zwaveAdapterSchema.safeParse({
    type: 'zwave',
    serialPort: '/dev/ttyACM0',
    securityKeys: { s0Legacy: 'abc' },
  });
  expect(bad.success).toBe(false);
});
