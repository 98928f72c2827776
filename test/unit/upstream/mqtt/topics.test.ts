import { describe, expect, it } from 'vitest';
import { expandTopic, resolveTopics } from '../../../../src/upstream/mqtt/topics.js';

describe('topics', () => {
  it('fills {gateway} and {route} in every template', () => {
    expect(
      resolveTopics(
        { telemetry: 'site/{gateway}/{route}/data', commands: 'cmd/{gateway}', results: 'res/{gateway}' },
        'gw-1',
        'cloud',
      ),
    ).toEqual({
      telemetry: 'site/gw-1/cloud/data',
      commands: 'cmd/gw-1',
      commandsFilter: 'cmd/gw-1/#',
      results: 'res/gw-1',
    });
  });

  it('refuses unknown placeholders and wildcards, naming the template', () => {
    expect(() => expandTopic('a/{device}', { gateway: 'g' })).toThrow(/unknown \{device\}/);
    expect(() => expandTopic('a/+/b', { gateway: 'g' })).toThrow(/wildcard/);
  });
});
