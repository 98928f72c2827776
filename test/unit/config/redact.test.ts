import { describe, expect, it } from 'vitest';
import { REDACTED, redactConfig } from '../../../src/config/redact.js';

describe('redactConfig', () => {
  it('replaces resolved secret values wherever they appear, and credential keys always', () => {
    const config = {
      routes: {
        local: {
          upstream: {
            url: 'mqtt://user:hunter22@broker:1883',
            username: 'gw',
            password: 'written-inline',
            topics: { telemetry: 'fieldgate/gw/telemetry' },
          },
          match: { devices: ['hunter22'] },
        },
      },
      queue: { maxBytes: 1000 },
    };
    expect(redactConfig(config, ['hunter22'])).toEqual({
      routes: {
        local: {
          upstream: {
            url: REDACTED,
            username: 'gw',
            password: REDACTED,
            topics: { telemetry: 'fieldgate/gw/telemetry' },
          },
          match: { devices: [REDACTED] },
        },
      },
      queue: { maxBytes: 1000 },
    });
  });

  it('redacts a short secret only where it is the whole value', () => {
    expect(redactConfig({ port: '1883', id: 'gw-42', pin: '42' }, ['42'])).toEqual({
      port: '1883',
      id: 'gw-42',
      pin: REDACTED,
    });
  });
});
