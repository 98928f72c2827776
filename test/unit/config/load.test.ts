import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { formatIssue, loadConfig, type ConfigIssue } from '../../../src/config/load.js';
import { makeConfigDir, type ConfigDir } from './config-dir.js';
import { mqttUpstreamOf, simAdapterOf } from './narrow.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/config');

/** Loads and returns the issues the loader threw, formatted relative to the fixture directory. */
async function issuesOf(
  file: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: string; lines: string[] }> {
  try {
    await loadConfig(file, { env, cwd: FIXTURES });
  } catch (error) {
    if (!isFieldgateError(error)) throw error;
    const errors = (error.context?.['errors'] ?? []) as ConfigIssue[];
    return {
      code: error.code,
      lines: errors.map((issue) => formatIssue({ ...issue, file: path.basename(issue.file) })),
    };
  }
  throw new Error(`${file} loaded without errors`);
}

describe('loadConfig', () => {
  it('reports every problem at once, each at its line and column', async () => {
    const { code, lines } = await issuesOf('invalid.yaml');
    expect(code).toBe('FG_CONFIG_INVALID');
    expect(lines).toEqual([
      expect.stringMatching(
        /^invalid\.yaml:7:14: adapters\.sim\.enabled: expected boolean, got "no" .*true or false/,
      ),
      expect.stringMatching(/^invalid\.yaml:9:16: adapters\.sim\.fleet\.climate: .*>=0/),
      'invalid.yaml:14:12: routes.local.upstream.url: unsupported scheme http://; expected mqtt://, mqtts://, ws://, wss://, tcp://, ssl://',
      expect.stringMatching(/^invalid\.yaml:15:12: routes\.local\.drain: .*"fifo"\|"liveFirst"/),
      // An unknown key points at the key itself.
      'invalid.yaml:16:5: routes.local.batchSize: unknown key "batchSize"',
      // A missing required key points at the mapping that lacks it.
      'invalid.yaml:19:7: routes.backup.upstream.url: missing required key (expected string)',
      'invalid.yaml:22:3: queue.maxBytes: duplicate key "maxBytes"',
    ]);
  });

  it('reports YAML syntax errors with their position', async () => {
    // Written at test time: a broken YAML fixture in the tree would trip `prettier --check .`.
    const dir = await makeConfigDir();
    try {
      const file = await dir.write(
        'fieldgate.yaml',
        'gateway:\n  id: edge-1\nroutes: [local,\nlog:\n  level: info\n',
      );
      const { code, lines } = await issuesOf(file);
      expect(code).toBe('FG_CONFIG_INVALID');
      expect(lines).toContainEqual(
        expect.stringMatching(/^fieldgate\.yaml:4:1: Flow sequence .* end with a \]/),
      );
    } finally {
      await dir.remove();
    }
  });

  it('suggests the closest key for a misspelt one', async () => {
    const dir = await makeConfigDir();
    try {
      const file = await dir.write('fieldgate.yaml', 'queue:\n  maxbytes: 1GB\n');
      const { lines } = await issuesOf(file);
      expect(lines).toEqual([
        'fieldgate.yaml:2:3: queue.maxbytes: unknown key "maxbytes" (did you mean "maxBytes"?)',
      ]);
    } finally {
      await dir.remove();
    }
  });

  it('points at the key of a route whose name is not allowed', async () => {
    const dir = await makeConfigDir();
    try {
      const file = await dir.write(
        'fieldgate.yaml',
        'routes:\n  Local:\n    upstream:\n      type: mqtt\n      url: mqtt://127.0.0.1\n',
      );
      const { lines } = await issuesOf(file);
      expect(lines).toEqual([
        expect.stringMatching(/^fieldgate\.yaml:2:3: routes\.Local: invalid name "Local"/),
      ]);
    } finally {
      await dir.remove();
    }
  });

  it('fails with FG_CONFIG_NOT_FOUND for a file that does not exist', async () => {
    await expect(loadConfig('no-such.yaml', { cwd: FIXTURES, env: {} })).rejects.toMatchObject({
      code: 'FG_CONFIG_NOT_FOUND',
    });
  });

  describe('with a valid file', () => {
    let dir: ConfigDir;
    beforeEach(async () => {
      dir = await makeConfigDir();
    });
    afterEach(() => dir.remove());

    it('applies defaults and resolves relative paths against the config file directory', async () => {
      const { config, file } = await loadConfig(path.join(FIXTURES, 'valid.yaml'), { env: {} });
      expect(file).toBe(path.join(FIXTURES, 'valid.yaml'));
      expect(config.gateway.stateDir).toBe(path.join(FIXTURES, 'state'));
      expect(mqttUpstreamOf(config, 'local').tls?.caFile).toBe(path.join(FIXTURES, 'certs/ca.pem'));
      expect(config.queue.maxBytes).toBe(1024 ** 3);
      expect(simAdapterOf(config, 'sim').fleet).toEqual({ climate: 2, switch: 2, contact: 1, sleepy: 1 });
      expect(config.log.level).toBe('info');
    });

    it('returns a deep-frozen config', async () => {
      const { config } = await loadConfig(path.join(FIXTURES, 'valid.yaml'), { env: {} });
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.routes['local']?.upstream)).toBe(true);
      expect(() => {
        (config.queue as { maxBytes: number }).maxBytes = 1;
      }).toThrow(TypeError);
    });

    it('treats an empty file as all defaults', async () => {
      const file = await dir.write('fieldgate.yaml', '# nothing yet\n');
      const { config } = await loadConfig(file, { env: {} });
      expect(config.routes).toEqual({});
      expect(config.queue.overflow).toBe('dropOldest');
    });
  });
});
