import { describe, expect, it } from 'vitest';
import {
  formatPropertyBag,
  parsePropertyBag,
} from '../../../../../src/upstream/azure/protocol/property-bag.js';

// docs/clouds/azure-iot-hub.md#property-bag: the Node SDK's encoding (querystring.stringify) and the
// documented literal-`$` form.
describe('IoT Hub property bags', () => {
  it('encodes like the Node SDK: every reserved character, `$` as %24, UTF-8 escapes', () => {
    expect(formatPropertyBag({ 'a b': 'c&d=e/f', $x: 'ü' })).toBe('a%20b=c%26d%3De%2Ff&%24x=%C3%BC');
    expect(formatPropertyBag({ '$.ct': 'application/json', '$.ce': 'utf-8' })).toBe(
      '%24.ct=application%2Fjson&%24.ce=utf-8',
    );
  });

  it('decodes the documented form with a literal `$`, the SDK form, null and empty values', () => {
    expect(parsePropertyBag('$.ct=application%2Fjson&$.ce=utf-8')).toEqual({
      '$.ct': 'application/json',
      '$.ce': 'utf-8',
    });
    expect(parsePropertyBag('a%20b=c%26d%3De%2Ff&%24x=%C3%BC')).toEqual({ 'a b': 'c&d=e/f', $x: 'ü' });
    expect(parsePropertyBag('flag&empty=')).toEqual({ flag: null, empty: '' });
  });

  it('keeps a malformed escape as text instead of failing the message', () => {
    expect(parsePropertyBag('k=%E0%A4%A')).toEqual({ k: '%E0%A4%A' });
  });
});
