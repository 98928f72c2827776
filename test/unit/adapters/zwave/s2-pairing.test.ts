import { describe, expect, it } from 'vitest';
import {
  checkPairingSecrets,
  grantFor,
  pinFor,
  SECURITY_CLASS,
} from '../../../../adapters/zwave/s2-pairing.js';
import { isFieldgateError } from '../../../../src/errors.js';

const DSK = '12345-11111-22222-33333-44444-55555-66666-77777';
const OTHER_DSK = '54321-99999-22222-33333-44444-55555-66666-77777';
/** What zwave-js shows for the joining node: its DSK without the PIN group. */
const SHOWN = DSK.slice(5);
const KEY = '0102030405060708090a0b0c0d0e0f10';

describe('pinFor', () => {
  it('takes the PIN from the full DSK given at pairing when it is the joining node’s', () => {
    expect(pinFor(SHOWN, { dsk: DSK }, [])).toBe('12345');
  });

  it('refuses when the DSK given at pairing belongs to another device', () => {
    expect(pinFor(SHOWN, { dsk: OTHER_DSK }, [DSK])).toBeUndefined();
  });

  it('trusts a bare PIN as typed', () => {
    expect(pinFor(SHOWN, { pin: '24680' }, [])).toBe('24680');
  });

  it('finds the joining node in the allow-list when nothing was given at pairing', () => {
    expect(pinFor(SHOWN, {}, [OTHER_DSK, DSK])).toBe('12345');
    expect(pinFor(SHOWN, {}, [OTHER_DSK])).toBeUndefined();
  });
});

describe('grantFor', () => {
  it('grants only what was asked for and has a key, and never client-side authentication', () => {
    const grant = grantFor(
      [SECURITY_CLASS.s2Unauthenticated, SECURITY_CLASS.s2Authenticated, SECURITY_CLASS.s2AccessControl],
      { s2Authenticated: KEY, s0Legacy: KEY },
    );
    expect(grant).toEqual({ securityClasses: [SECURITY_CLASS.s2Authenticated], clientSideAuth: false });
  });
});

describe('checkPairingSecrets', () => {
  it.each([{ pin: '1234' }, { pin: 'abcde' }, { dsk: '12345-1111' }, { dsk: `${DSK}-00000` }])(
    'rejects %o',
    (secrets) => {
      expect(() => checkPairingSecrets(secrets)).toThrow(
        expect.toSatisfy((e) => isFieldgateError(e, 'FG_USAGE')) as Error,
      );
    },
  );

  it('accepts a DSK, a PIN or nothing', () => {
    expect(() => checkPairingSecrets({ dsk: DSK })).not.toThrow();
    expect(() => checkPairingSecrets({ pin: '00001' })).not.toThrow();
    expect(() => checkPairingSecrets({})).not.toThrow();
  });
});
