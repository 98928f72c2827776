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
    ).toMatchObject({
      telemetry: 'site/gw-1/cloud/data',
      isTelemetryPerDevice: false,
      commands: 'cmd/gw-1',
      commandsFilter: 'cmd/gw-1/#',
      results: 'res/gw-1',
    });
  });

  it('puts each reading under its device name, or its id when it has none, with {name}', () => {
    const topics = resolveTopics(
      { telemetry: 'fieldgate/{gateway}/{name}', commands: 'c', results: 'r' },
      'gw-1',
      'cloud',
    );
    expect(topics.isTelemetryPerDevice).toBe(true);
    expect(topics.telemetryOf({ device: 'sim:climate-01', name: 'living room' })).toBe(
      'fieldgate/gw-1/living room',
    );
    expect(topics.telemetryOf({ device: 'sim:climate-02' })).toBe('fieldgate/gw-1/sim:climate-02');
    const byId = resolveTopics({ telemetry: 't/{device}', commands: 'c', results: 'r' }, 'g', 'r');
    expect(byId.telemetryOf({ device: 'sim:a', name: 'x' })).toBe('t/sim:a');
    expect(() =>
      resolveTopics({ telemetry: 't/{name}/{nope}', commands: 'c', results: 'r' }, 'g', 'r'),
    ).toThrow(/unknown \{nope\}/);
  });

  it('refuses unknown placeholders and wildcards, naming the template', () => {
    expect(() => expandTopic('a/{device}', { gateway: 'g' })).toThrow(/unknown \{device\}/);
    expect(() => expandTopic('a/+/b', { gateway: 'g' })).toThrow(/wildcard/);
  });
});
