import { describe, expect, it } from 'vitest';
import * as zwave from 'zwave-js';
import { provisioningEntryFor, toProvisioningEntry } from '../../../../adapters/zwave/smartstart.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { smartStartQr } from '../../../fakes/zwave/smartstart-qr.js';

// SmartStart codes as printed on labels, read with zwave-js's own QR parser.

const DSK = '15665-50160-21682-53340-20099-26710-49641-27847';

describe('provisioningEntryFor', () => {
  it('grants the classes a SmartStart QR code requests, with its DSK and product', async () => {
    const entry = await provisioningEntryFor(smartStartQr(DSK, { securityMask: 0b100 }), zwave);
    expect(entry).toMatchObject({
      dsk: DSK,
      securityClasses: [2],
      manufacturerId: 0x0086,
      productId: 0x0060,
    });
    expect(toProvisioningEntry(entry, zwave, (n) => `zwave:x-${n}`)).toEqual({
      dsk: DSK,
      securityClasses: ['s2AccessControl'],
      status: 'active',
      product: '0x0086:0x0003:0x0060',
    });
  });

  it('takes a bare DSK with every S2 class', async () => {
    const entry = await provisioningEntryFor(` ${DSK} `, zwave);
    expect(toProvisioningEntry(entry, zwave, (n) => `zwave:x-${n}`)).toEqual({
      dsk: DSK,
      securityClasses: ['s2AccessControl', 's2Authenticated', 's2Unauthenticated'],
      status: 'active',
    });
  });

  it('names the device of an entry that joined', () => {
    const shown = toProvisioningEntry(
      { dsk: DSK, securityClasses: [1], nodeId: 7 },
      zwave,
      (n) => `zwave:x-${n}`,
    );
    expect(shown.device).toBe('zwave:x-7');
  });

  it.each([
    ['an S2-only QR code', smartStartQr(DSK, { version: 0 }), /S2 pairing, not SmartStart/],
    ['a QR code with a bad checksum', `${smartStartQr(DSK).slice(0, -1)}9`, /not a valid Z-Wave QR code/],
    ['a DSK with a group missing', DSK.slice(6), /expected a SmartStart QR code/],
    ['text', 'hello', /expected a SmartStart QR code/],
  ])('refuses %s with a usage error', async (_why, code, message) => {
    const error: unknown = await provisioningEntryFor(code, zwave).catch((e: unknown) => e);
    expect(isFieldgateError(error, 'FG_USAGE')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});
