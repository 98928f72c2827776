import { ErrorWithReasonCode } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { isRetryable } from '../../../../src/errors.js';
import { classifyConnectError } from '../../../../src/upstream/common/connect-error.js';

describe('classifyConnectError', () => {
  it.each([
    [new ErrorWithReasonCode('Connection refused: Bad username or password', 4), 'FG_UPSTREAM_AUTH'],
    [new ErrorWithReasonCode('Connection refused: Not authorized', 5), 'FG_UPSTREAM_AUTH'],
    [new ErrorWithReasonCode('Connection refused: Not authorized', 135), 'FG_UPSTREAM_AUTH'],
    [new ErrorWithReasonCode('Connection refused: Server unavailable', 3), 'FG_UPSTREAM_OFFLINE'],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'FG_UPSTREAM_OFFLINE'],
    [new Error('connack timeout'), 'FG_UPSTREAM_OFFLINE'],
  ])('%s → %s, and retryable', (error, code) => {
    const classified = classifyConnectError(error);
    expect(classified.code).toBe(code);
    expect(isRetryable(classified)).toBe(true);
  });
});
