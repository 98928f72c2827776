import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { knownAdapterTypes } from '../../../adapters/registry.js';

/**
 * docs/architecture.md#dependency-rules: noble's native HCI socket, zigbee-herdsman and zwave-js load only
 * when an adapter of that
 * type is configured. An eager import anywhere under `adapters/registry.ts` would load them on every
 * gateway, so a fresh node process imports the built registry and reports which radio stacks it loaded.
 */

const REGISTRY = path.resolve('dist/adapters/registry.js');

/** The packages that make up each radio stack, as they appear in a module's path or URL. */
const STACKS: Record<string, RegExp> = {
  ble: /\/node_modules\/@abandonware\/noble\//,
  zigbee: /\/node_modules\/zigbee-herdsman(-converters)?\//,
  zwave: /\/node_modules\/(zwave-js|@zwave-js\/[^/]+)\//,
};

// Module hooks run in their own thread in Node 20; a synchronous append to a file is finished before the
// import that triggered it resolves, so the probe reads a complete list afterwards.
const RECORD_RESOLUTIONS = `
import { appendFileSync } from 'node:fs';
let logFile;
export function initialize(data) { logFile = data.logFile; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(logFile, result.url + '\\n');
  return result;
}`;

// Imports the first argument (a file or a package), then loads the factory of each adapter type named
// after it, and prints every module loaded: ESM URLs from the hook and CommonJS files from require.cache.
const PROBE = `
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
const [logFile, target, ...types] = process.argv.slice(1);
writeFileSync(logFile, '');
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(RECORD_RESOLUTIONS)}), {
  data: { logFile },
});
const imported = await import(target.startsWith('/') ? pathToFileURL(target).href : target);
for (const type of types) {
  if ((await imported.loadAdapterDefinition(type)) === undefined) throw new Error('no adapter type ' + type);
}
const loaded = [...readFileSync(logFile, 'utf8').split('\\n'), ...Object.keys(createRequire(import.meta.url).cache)];
process.stdout.write(JSON.stringify(loaded));`;

describe('adapters/registry', () => {
  let dir: string;
  let probes = 0;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-registry-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Runs the probe in a fresh node and returns the radio stacks (`ble`, `zigbee`, `zwave`) it loaded. */
  async function stacksLoaded(target: string, types: string[] = []): Promise<string[]> {
    const logFile = path.join(dir, `resolved-${++probes}.log`);
    const args = ['--input-type=module', '-e', PROBE, logFile, target, ...types];
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve) => {
      const child = spawn(process.execPath, args);
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.once('exit', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    });
    expect(code, stderr).toBe(0);
    const loaded = JSON.parse(stdout) as string[];
    return Object.keys(STACKS).filter((stack) => loaded.some((file) => STACKS[stack]!.test(file)));
  }

  it('loads no radio stack when it is imported', async () => {
    expect(await stacksLoaded(REGISTRY)).toEqual([]);
  });

  it.each(knownAdapterTypes())(
    'loads no radio stack of another type when the %s factory is loaded',
    async (type) => {
      // An adapter's own stack may load with its factory (when configured); nobody else's may.
      const loaded = await stacksLoaded(REGISTRY, [type]);
      expect(loaded.filter((stack) => stack !== type)).toEqual([]);
    },
  );

  // Without this the tests above would pass just as well if the probe saw nothing at all.
  it('notices each radio stack when a module imports it eagerly', async () => {
    const seen = await Promise.all([
      stacksLoaded('@abandonware/noble/with-custom-binding.js'),
      stacksLoaded('zigbee-herdsman'),
      stacksLoaded('zwave-js'),
    ]);
    expect(seen).toEqual([['ble'], ['zigbee'], ['zwave']]);
  });
});
