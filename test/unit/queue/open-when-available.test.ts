import { describe, expect, it } from 'vitest';
import { FieldgateError } from '../../../src/errors.js';
import { openWhenAvailable } from '../../../src/queue/open-when-available.js';

const unavailable = () => new FieldgateError('FG_STORAGE_UNAVAILABLE', 'read-only filesystem at /q');

describe('openWhenAvailable', () => {
  it('retries while storage is unavailable, says so once per episode, and opens when it can', async () => {
    let attempts = 0;
    const seen: [string, boolean][] = [];
    let againCount = 0;
    const opened = await openWhenAvailable({
      open: () => (++attempts < 3 ? Promise.reject(unavailable()) : Promise.resolve('store')),
      retryMs: 1,
      signal: new AbortController().signal,
      onUnavailable: (reason, isFirst) => Promise.resolve(void seen.push([reason, isFirst])),
      onAvailableAgain: () => (againCount += 1),
    });
    expect(opened).toBe('store');
    expect(seen).toEqual([
      ['read-only filesystem at /q', true],
      ['read-only filesystem at /q', false],
    ]);
    expect(againCount).toBe(1);
  });

  it('throws any other error at once, without retrying', async () => {
    let attempts = 0;
    const attempt = openWhenAvailable({
      open: () => {
        attempts += 1;
        return Promise.reject(new FieldgateError('FG_STORAGE_PERMISSION', 'not ours'));
      },
      retryMs: 1,
      signal: new AbortController().signal,
      onUnavailable: () => Promise.resolve(),
      onAvailableAgain: () => undefined,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'FG_STORAGE_PERMISSION' });
    expect(attempts).toBe(1);
  });

  it('resolves undefined when stopped while waiting', async () => {
    const stop = new AbortController();
    const attempt = openWhenAvailable({
      open: () => Promise.reject(unavailable()),
      retryMs: 60_000,
      signal: stop.signal,
      onUnavailable: () => Promise.resolve(void stop.abort()),
      onAvailableAgain: () => undefined,
    });
    await expect(attempt).resolves.toBeUndefined();
  });
});
