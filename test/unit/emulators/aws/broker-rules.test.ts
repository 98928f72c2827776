import { describe, expect, it } from 'vitest';
import {
  PublishRate,
  filterMatches,
  publishViolation,
  subscribeViolation,
} from '../../../../emulators/aws/index.js';

describe('IoT Core broker rules', () => {
  it.each([
    ['sensor/#', 'sensor/a/b', true],
    ['sensor/#', 'sensor/', true],
    // Unlike MQTT 3.1.1, IoT Core does not match the parent level.
    ['sensor/#', 'sensor', false],
    ['sensor/+/t', 'sensor/a/t', true],
    ['sensor/+', 'sensor/a/t', false],
    ['a/b', 'a/b', true],
  ])('%s matches %s: %s', (filter, topic, matches) => {
    expect(filterMatches(filter, topic)).toBe(matches);
  });

  it('refuses oversized payloads, deep topics and retained reserved topics', () => {
    const ok = { topic: 'dt/a', payload: Buffer.alloc(128 * 1024), retain: false };
    expect(publishViolation(ok)).toBeUndefined();
    expect(publishViolation({ ...ok, payload: Buffer.alloc(128 * 1024 + 1) })).toMatch(
      /PAYLOAD_LIMIT_EXCEEDED/,
    );
    expect(publishViolation({ ...ok, topic: 'a/b/c/d/e/f/g/h/i' })).toMatch(/slashes/);
    expect(publishViolation({ ...ok, topic: '$aws/things/t/shadow/update', retain: true })).toMatch(
      /reserved/,
    );
  });

  it('caps subscriptions at 50 and refuses Basic Ingest filters', () => {
    expect(subscribeViolation('a/b', 49)).toBeUndefined();
    expect(subscribeViolation('a/b', 50)).toMatch(/50 subscriptions/);
    expect(subscribeViolation('$aws/rules/r/x', 0)).toMatch(/Basic Ingest/);
  });

  it('records the peak publishes in any one-second window', () => {
    const rate = new PublishRate();
    for (let i = 0; i < 5; i++) rate.record(1000 + i);
    for (let i = 0; i < 3; i++) rate.record(2500 + i);
    expect(rate.peak).toBe(5);
  });
});
