import { expect, it } from 'vitest';
import {
  MAX_CONTROL_CONNECTIONS,
  MIN_CONTROL_CONNECTIONS,
  QUEUE_FDS,
  fdBudget,
  parseOpenFilesLimit,
} from '../../../src/control/fd-budget.js';
import { QUEUE_MAX_OPEN_FILES } from '../../../src/queue/guarded-level.js';

const LIMITS = (soft: string, hard: string) =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max cpu time              unlimited            unlimited            seconds   ',
    `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     `,
    'Max locked memory         8388608              8388608              bytes     ',
  ].join('\n');

it.each([
  [LIMITS('4096', '524288'), 4096],
  [LIMITS('1024', '1024'), 1024],
  [LIMITS('unlimited', 'unlimited'), Number.MAX_SAFE_INTEGER],
  ['Max cpu time  unlimited  unlimited  seconds', undefined],
  [LIMITS('lots', '4096'), undefined],
  ['', undefined],
])('reads the soft open-files limit from /proc/self/limits (%#)', (text, expected) => {
  expect(parseOpenFilesLimit(text)).toBe(expected);
});

it('keeps a systemd unit (LimitNOFILE=4096) far from its limit: 256 control connections', () => {
  const budget = fdBudget(4096, 'proc');
  expect(budget.maxConnections).toBe(MAX_CONTROL_CONNECTIONS);
  expect(budget.reserved + budget.maxConnections).toBeLessThan(4096 / 2);
});

it('leaves LevelDB its descriptors under a low limit, and never goes below a usable minimum', () => {
  const budget = fdBudget(512, 'proc');
  expect(budget.reserved).toBeGreaterThanOrEqual(QUEUE_FDS);
  expect(budget.reserved + 2 * budget.maxConnections).toBeLessThanOrEqual(512);
  expect(fdBudget(64, 'proc').maxConnections).toBe(MIN_CONTROL_CONNECTIONS);
});

it('sets LevelDB to far fewer open files than classic-level’s default of 1000', () => {
  expect(QUEUE_MAX_OPEN_FILES).toBeLessThanOrEqual(128);
});
