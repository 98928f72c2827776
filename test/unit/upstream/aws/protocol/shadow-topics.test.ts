import { describe, expect, it } from 'vitest';
import type { AwsUpstreamConfig } from '../../../../../src/config/upstreams/aws.js';
import { ShadowTopics } from '../../../../../src/upstream/aws/protocol/shadow-topics.js';

const shadows = (mode: 'named' | 'classic'): AwsUpstreamConfig['shadows'] => ({
  mode,
  name: '{device}',
  minIntervalMs: 1000,
  maxUpdatesPerSecond: 18,
  desired: {},
});

// The Device Shadow MQTT topics of AWS's developer guide ("Device Shadow MQTT topics",
// docs/clouds/aws-iot-core.md#device-shadow), for thing `gw-1` and named shadow `sim_thermo-01`.
describe('Device Shadow topics (documented strings)', () => {
  it('puts a named shadow under $aws/things/{thing}/shadow/name/{shadow}', () => {
    const topics = new ShadowTopics(shadows('named'), 'gw-1');
    const address = topics.addressOf('sim:thermo-01');
    expect(address).toEqual({ thing: 'gw-1', shadow: 'sim:thermo-01' });
    expect(`${topics.prefixOf(address)}/update`).toBe('$aws/things/gw-1/shadow/name/sim:thermo-01/update');
  });

  it('puts a classic shadow under $aws/things/{thing}/shadow', () => {
    const topics = new ShadowTopics(shadows('classic'), 'gw-1');
    expect(`${topics.prefixOf(topics.addressOf('thermo-01'))}/get`).toBe('$aws/things/thermo-01/shadow/get');
  });

  it('subscribes to the five response topics with one wildcard each', () => {
    expect(new ShadowTopics(shadows('named'), 'gw-1').filters()).toEqual([
      '$aws/things/gw-1/shadow/name/+/update/accepted',
      '$aws/things/gw-1/shadow/name/+/update/rejected',
      '$aws/things/gw-1/shadow/name/+/update/delta',
      '$aws/things/gw-1/shadow/name/+/get/accepted',
      '$aws/things/gw-1/shadow/name/+/get/rejected',
    ]);
  });

  it('recognises the documented response topics, and nothing else', () => {
    const topics = new ShadowTopics(shadows('named'), 'gw-1');
    expect(topics.parse('$aws/things/gw-1/shadow/name/thermo-01/update/delta')).toEqual({
      address: { thing: 'gw-1', shadow: 'thermo-01' },
      response: 'update/delta',
    });
    expect(topics.parse('$aws/things/thermo-01/shadow/get/accepted')).toEqual({
      address: { thing: 'thermo-01' },
      response: 'get/accepted',
    });
    expect(topics.parse('$aws/things/gw-1/shadow/update/documents')).toBeUndefined();
    expect(topics.parse('$aws/things/gw-1/jobs/notify-next')).toBeUndefined();
  });
});
