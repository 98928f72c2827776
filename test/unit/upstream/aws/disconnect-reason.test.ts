import { describe, expect, it } from 'vitest';
import { describeDisconnectReason, isTakeover } from '../../../../src/upstream/aws/disconnect-reason.js';

describe('isTakeover', () => {
  it.each([
    [
      'MQTT 5 DISCONNECT 0x8E session taken over',
      { isPeerClose: true, disconnect: { reasonCode: 0x8e } },
      true,
    ],
    [
      'MQTT 5 DISCONNECT 0x8B server shutting down',
      { isPeerClose: true, disconnect: { reasonCode: 0x8b } },
      false,
    ],
    ['MQTT 5 DISCONNECT 0x87 not authorized', { isPeerClose: true, disconnect: { reasonCode: 0x87 } }, false],
    ['a healthy connection closed by the peer without a reason', { isPeerClose: true }, true],
    ['a socket error', { isPeerClose: false, error: new Error('ECONNRESET') }, false],
    ['our own close', { isPeerClose: false }, false],
  ])('%s → %s', (_what, end, expected) => {
    expect(isTakeover(end)).toBe(expected);
  });
});

describe('describeDisconnectReason', () => {
  it('names the code in hex, and says so when it is not in the specification', () => {
    expect(describeDisconnectReason(0x8e)).toBe('0x8E session taken over');
    expect(describeDisconnectReason(0x00)).toBe('0x00 normal disconnection');
    expect(describeDisconnectReason(0x42)).toBe('0x42 unknown');
  });
});
