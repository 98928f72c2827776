import { expect, it } from 'vitest';
import { availabilityOf, NODE_STATUS } from '../../../../adapters/zwave/availability.js';

const base = { wakeUpIntervalS: undefined, lastSeen: 0, now: 1_000_000_000, sleepGraceMs: 60_000 };

it.each([
  ['alive', { status: NODE_STATUS.alive }, 'online'],
  ['awake', { status: NODE_STATUS.awake }, 'online'],
  ['dead', { status: NODE_STATUS.dead }, 'offline'],
  ['unknown', { status: NODE_STATUS.unknown }, 'unknown'],
  ['asleep, never heard', { status: NODE_STATUS.asleep, wakeUpIntervalS: 3600 }, 'asleep'],
  [
    'asleep, checked in within two intervals',
    { status: NODE_STATUS.asleep, wakeUpIntervalS: 3600, lastSeen: base.now - 7_000_000 },
    'asleep',
  ],
  [
    'asleep, missed two intervals plus grace',
    { status: NODE_STATUS.asleep, wakeUpIntervalS: 3600, lastSeen: base.now - 7_300_000 },
    'offline',
  ],
  [
    'asleep with interval 0 (wakes only by button)',
    { status: NODE_STATUS.asleep, wakeUpIntervalS: 0, lastSeen: 1 },
    'asleep',
  ],
])('%s → %s', (_why, facts, expected) => {
  expect(availabilityOf({ ...base, ...facts })).toBe(expected);
});
