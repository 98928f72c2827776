import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, redactUrl, secretForms } from '../../../src/config/redact.js';

describe('Redactor.redactConfig', () => {
  it('redacts secret keys by schema path, a URL only in its password, and known values anywhere', () => {
    const config = {
      routes: {
        local: {
          upstream: {
            type: 'mqtt',
            url: 'mqtt://user:hunter22@broker:1883',
            username: 'gw',
            password: 'written-inline',
            topics: { telemetry: 'fieldgate/gw/telemetry' },
          },
          match: { devices: ['declared-secret'] },
        },
      },
      queue: { maxBytes: 1000 },
    };
    expect(new Redactor(['declared-secret']).redactConfig(config)).toEqual({
      routes: {
        local: {
          upstream: {
            type: 'mqtt',
            url: `mqtt://user:${REDACTED}@broker:1883`,
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

  it('redacts a secret key whatever the value looks like (a number, a list)', () => {
    const config = {
      adapters: {
        zb: { type: 'zigbee', networkKey: [1, 2, 3] },
        zw: { type: 'zwave', securityKeys: { s0Legacy: 12345 } },
      },
    };
    expect(new Redactor().redactConfig(config)).toEqual({
      adapters: {
        zb: { type: 'zigbee', networkKey: REDACTED },
        zw: { type: 'zwave', securityKeys: { s0Legacy: REDACTED } },
      },
    });
  });

  it('redacts a short secret only where it is the whole value', () => {
    expect(new Redactor(['42']).scrubDeep({ port: '1883', id: 'gw-42', pin: '42' })).toEqual({
      port: '1883',
      id: 'gw-42',
      pin: REDACTED,
    });
  });
});

describe('Redactor.scrub', () => {
  it('finds a key in the forms it is printed in: colon, 0x, upper case, decimal bytes, base64', () => {
    const key = '01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10';
    const redactor = new Redactor([key]);
    const bytes = Array.from({ length: 16 }, (_, i) => i + 1);
    const hex = Buffer.from(bytes).toString('hex');
    for (const printed of [
      key,
      hex,
      hex.toUpperCase(),
      `0x${hex}`,
      JSON.stringify(bytes),
      bytes.join(', '),
      Buffer.from(bytes).toString('base64'),
      JSON.stringify({ type: 'Buffer', data: bytes }),
    ]) {
      expect(redactor.scrub(`network key ${printed} in use`)).not.toContain(printed.slice(1, -1));
    }
  });

  it('keeps a JSON log line valid JSON when a numeric secret also appears as a number', () => {
    const redactor = new Redactor(['12345']);
    const line = `${JSON.stringify({ pid: 12345, msg: 'password 12345 refused' })}\n`;
    const scrubbed = redactor.scrubJsonLine(line);
    expect(JSON.parse(scrubbed)).toEqual({ pid: 12345, msg: `password ${REDACTED} refused` });
  });

  it('lists the escaped and encoded forms of a password with quotes and spaces', () => {
    expect(secretForms('a "b" c')).toEqual(
      expect.arrayContaining(['a "b" c', 'a \\"b\\" c', 'a%20%22b%22%20c']),
    );
  });
});

describe('redactUrl', () => {
  it.each([
    ['mqtt://user:hunter2@host:1883', `mqtt://user:${REDACTED}@host:1883`],
    ['mqtts://user:p@ss:w@rd@host/path', `mqtts://user:${REDACTED}@host/path`],
    ['mqtt://host:1883', 'mqtt://host:1883'],
    ['mqtt://user@host', 'mqtt://user@host'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});
