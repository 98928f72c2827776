import { expect, it } from 'vitest';
import { toCommandResult, type WriteOutcome } from '../../../../adapters/zwave/result-mapping.js';

it.each<[string, WriteOutcome, string]>([
  ['unsupervised send', { kind: 'sent' }, 'ok'],
  ['supervised success', { kind: 'sent', supervision: { status: 0xff } }, 'ok'],
  ['supervised working', { kind: 'sent', supervision: { status: 0x01, remainingDurationMs: 2000 } }, 'ok'],
  ['supervised fail', { kind: 'sent', supervision: { status: 0x02 } }, 'failed'],
  ['supervised no support', { kind: 'sent', supervision: { status: 0x00 } }, 'unsupported'],
  [
    'expired in the queue',
    { kind: 'error', errorCode: 'Controller_MessageExpired', message: 'expired' },
    'expired',
  ],
  ['node timeout', { kind: 'error', errorCode: 'Controller_NodeTimeout', message: 'no ack' }, 'failed'],
  ['bad argument', { kind: 'error', errorCode: 'Argument_Invalid', message: 'bad' }, 'rejected'],
  ['unknown error', { kind: 'error', errorCode: undefined, message: 'boom' }, 'failed'],
])('%s → %s', (_why, outcome, status) => {
  const result = toCommandResult('c1', outcome);
  expect(result).toMatchObject({ id: 'c1', status });
  expect(result.detail).toEqual(expect.any(String));
});

it('keeps the remaining duration of a command the device is still working on', () => {
  const result = toCommandResult('c1', {
    kind: 'sent',
    supervision: { status: 0x01, remainingDurationMs: 2000 },
  });
  expect(result.data).toEqual({ remainingDurationMs: 2000 });
});
