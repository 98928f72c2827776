import { describe, expect, it } from 'vitest';
import { insecureReason } from '../../../../adapters/zwave/security.js';

const DOOR_LOCK = 0x62;
const BINARY_SWITCH = 0x25;
const NONE = -1;
const S2_AUTHENTICATED = 1;
const S2_ACCESS_CONTROL = 2;
const S0 = 7;

const facts = (ccs: number[], highestClass: number | undefined, granted: number[] = []) => ({
  commandClasses: new Set(ccs),
  highestClass,
  hasAccessControl: highestClass === undefined ? undefined : granted.includes(S2_ACCESS_CONTROL),
  hasS0: highestClass === undefined ? undefined : granted.includes(S0),
});

describe('insecureReason', () => {
  it.each([
    [
      'a lock included without security',
      facts([DOOR_LOCK], NONE),
      /Door Lock needs S2 Access Control .* no security/,
    ],
    [
      'a lock with S2 Authenticated only',
      facts([DOOR_LOCK], S2_AUTHENTICATED, [S2_AUTHENTICATED]),
      /S2 Authenticated/,
    ],
  ])('flags %s', (_why, nodeFacts, reason) => {
    expect(insecureReason(nodeFacts)).toMatch(reason);
  });

  it.each([
    ['a lock with S2 Access Control', facts([DOOR_LOCK], S2_ACCESS_CONTROL, [S2_ACCESS_CONTROL])],
    ['a lock with S0', facts([DOOR_LOCK], S0, [S0])],
    ['a plug included without security', facts([BINARY_SWITCH], NONE)],
    ['a lock whose security is not known yet', facts([DOOR_LOCK], undefined)],
  ])('leaves %s alone', (_why, nodeFacts) => {
    expect(insecureReason(nodeFacts)).toBeUndefined();
  });
});
