import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../../src/config/issues.js';
import { validateDocument } from '../../../src/config/validate.js';
import { parseYamlSource } from '../../../src/config/yaml-source.js';

/** A route whose upstream URL is `url`, as a user writes it. */
function withUrl(url: string): string {
  return ['routes:', '  local:', '    upstream:', '      type: mqtt', `      url: "${url}"`, ''].join('\n');
}

function urlIssues(url: string): string[] {
  const { source } = parseYamlSource(withUrl(url), 'fg.yaml');
  return validateDocument(source, [])
    .issues.map(formatIssue)
    .filter((line) => line.includes('upstream.url'));
}

describe('upstream URLs are checked at load, with file:line:col and the reason', () => {
  it.each([
    ['mqtt://broker.lan:99999', 'port 99999 is out of range (1–65535)'],
    ['mqtt://broker.lan:0', 'port 0 is out of range (1–65535)'],
    ['mqtt://broker.lan:http', 'the port must be a number, got "http"'],
    ['ftp://broker.lan:21', 'unsupported scheme ftp://; expected mqtt://'],
    ['mqtt://:1883', 'the URL has no host'],
    ['broker.lan:1883', 'not a URL'],
  ])('%s: %s', (url, reason) => {
    expect(urlIssues(url)).toEqual([
      expect.stringContaining(`fg.yaml:5:12: routes.local.upstream.url: ${reason}`),
    ]);
  });

  it('never quotes the URL, which may hold a password', () => {
    expect(urlIssues('mqtt://user:s3cret@broker.lan:99999').join('\n')).not.toContain('s3cret');
  });

  it.each([
    'mqtt://broker.lan',
    'mqtts://user:pw@broker.lan:8883',
    'ws://[::1]:9001/mqtt',
    'mqtt://127.0.0.1:1883',
  ])('accepts %s', (url) => expect(urlIssues(url)).toEqual([]));
});

describe('metrics.listen', () => {
  it('refuses a port above 65535 at load', () => {
    const { source } = parseYamlSource('metrics:\n  listen: 127.0.0.1:99999\n', 'fg.yaml');
    expect(validateDocument(source, []).issues.map(formatIssue)).toEqual([
      'fg.yaml:2:11: metrics.listen: the port is out of range (0–65535)',
    ]);
  });
});
