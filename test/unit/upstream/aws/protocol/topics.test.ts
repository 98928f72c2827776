import { describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../../../src/errors.js';
import {
  TopicTemplate,
  isBasicIngest,
  topicLimitViolation,
} from '../../../../../src/upstream/aws/protocol/topics.js';

const known = ['gateway', 'route', 'device'];

describe('IoT Core topic limits', () => {
  it.each([
    ['dt/fieldgate/gw/sim:thermo-01', undefined],
    ['a/b/c/d/e/f/g/h', undefined],
    ['a/b/c/d/e/f/g/h/i', 'topic has 8 slashes; IoT Core allows 7'],
    ['$aws/rules/ingest/a/b/c/d/e/f/g/h', undefined],
    ['x'.repeat(256), undefined],
    ['x'.repeat(257), 'topic is 257 bytes; IoT Core allows 256'],
  ])('%s → %s', (topic, violation) => {
    expect(topicLimitViolation(topic)).toBe(violation);
  });

  it('recognises Basic Ingest topics', () => {
    expect(isBasicIngest('$aws/rules/ingest/dt/x')).toBe(true);
    expect(isBasicIngest('$aws/things/x/shadow/update')).toBe(false);
  });
});

describe('TopicTemplate', () => {
  const request = new TopicTemplate('cmd/fieldgate/{gateway}/{device}/req', known);
  const vars = { gateway: 'gw-1', route: 'aws' };

  it('expands, filters and extracts the device level', () => {
    expect(request.expand({ ...vars, device: 'sim:switch-01' })).toBe('cmd/fieldgate/gw-1/sim:switch-01/req');
    expect(request.filter(vars, ['device'])).toBe('cmd/fieldgate/gw-1/+/req');
    expect(request.extract('cmd/fieldgate/gw-1/sim:switch-01/req', vars, 'device')).toBe('sim:switch-01');
  });

  it.each([
    'cmd/fieldgate/gw-2/sim:switch-01/req',
    'cmd/fieldgate/gw-1/sim:switch-01/res',
    'cmd/fieldgate/gw-1//req',
  ])('extracts nothing from %s', (topic) => {
    expect(request.extract(topic, vars, 'device')).toBeUndefined();
  });

  it('refuses unknown placeholders, wildcards, and a filter placeholder that shares a level', () => {
    const refused = (f: () => unknown): boolean => {
      try {
        f();
        return false;
      } catch (e) {
        return isFieldgateError(e, 'FG_CONFIG_INVALID');
      }
    };
    expect(refused(() => new TopicTemplate('dt/{thing}', known))).toBe(true);
    expect(refused(() => new TopicTemplate('dt/#', known))).toBe(true);
    expect(refused(() => new TopicTemplate('cmd/dev-{device}/req', known).filter(vars, ['device']))).toBe(
      true,
    );
  });
});
