import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** A CommonJS package: class names, `__dirname`, non-Latin-1 text, a licence comment. */
const CJS = `/*! tiny-cjs | MIT licence, keep me */
'use strict';
const path = require('node:path');
// A long comment that compaction drops → with a character outside Latin-1 that makes V8 store the file
// at two bytes per character.
function defineRecords() {
  // Local names are what minification renames; their \`.name\` must survive.
  class DeviceRecord {
    constructor(identifier, temperatureCelsius = 21.5) {
      this.identifier = identifier;
      this.temperatureCelsius = temperatureCelsius;
    }
    describe() {
      return \`\${this.identifier}: \${this.temperatureCelsius} °C → ok\`;
    }
  }
  const makeRecord = (identifier) => new DeviceRecord(identifier);
  return { DeviceRecord, makeRecord };
}
const { DeviceRecord, makeRecord } = defineRecords();
module.exports = {
  className: DeviceRecord.name,
  functionName: makeRecord.name,
  described: makeRecord('plug-1').describe(),
  here: path.basename(__dirname),
  arrow: '→',
};
`;

/** An ES module: `import.meta.url`, top-level await, a Unicode regex, a tagged template's raw text. */
const ESM = `import { fileURLToPath } from 'node:url';
// Everything below must behave the same after compaction.
export class ValueEncoder {
  static unit = 'µs';
  encode(value) {
    return \`\${value}\${ValueEncoder.unit}\`;
  }
}
const letters = /^\\p{L}+$/u;
export const isWord = letters.test('Ünïcode');
export const raw = String.raw\`a\\u2192b\`;
export const here = fileURLToPath(import.meta.url).split('/').at(-2);
export const awaited = await Promise.resolve('awaited ✓');
export const encoded = new ValueEncoder().encode(5);
export const encoderName = ValueEncoder.name;
`;

let root: string;
let original: string;

async function write(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** What the two packages export, loaded from `dir` (a fresh path each time: nothing cached). */
async function exportsOf(dir: string): Promise<{ cjs: unknown; esm: unknown }> {
  const require = createRequire(path.join(dir, 'loader.js'));
  const esm = (await import(pathToFileURL(path.join(dir, 'tiny-esm/index.mjs')).href)) as Record<
    string,
    unknown
  >;
  return { cjs: require('./tiny-cjs/index.js'), esm: { ...esm, ValueEncoder: undefined } };
}

describe('release: compact-js minifies the dependencies without changing what they do', () => {
  beforeAll(async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-compact-'));
    original = path.join(base, 'original');
    root = path.join(base, 'node_modules');
    await write(path.join(original, 'tiny-cjs/index.js'), CJS);
    await write(path.join(original, 'tiny-cjs/index.js.map'), '{"version":3,"sources":[],"mappings":""}');
    await write(path.join(original, 'tiny-esm/index.mjs'), ESM);
    await write(path.join(original, 'not-js/broken.js'), 'this is not { JavaScript at all\n');
    await cp(original, root, { recursive: true });
    await run(process.execPath, ['scripts/compact-js.mjs', root]);
  }, 60_000);

  afterAll(async () => {
    await rm(path.dirname(root), { recursive: true, force: true });
  });

  it('each package exports the same values, class and function names included', async () => {
    const before = await exportsOf(original);
    const after = await exportsOf(root);
    expect(after).toEqual(before);
    expect(after.cjs).toMatchObject({
      className: 'DeviceRecord',
      functionName: 'makeRecord',
      here: 'tiny-cjs',
    });
    expect(after.esm).toMatchObject({ raw: 'a\\u2192b', isWord: true, encoded: '5µs', here: 'tiny-esm' });
  });

  it('the files shrink, hold only ASCII (one byte per character in V8) and keep licence comments', async () => {
    for (const file of ['tiny-cjs/index.js', 'tiny-esm/index.mjs']) {
      const compacted = await readFile(path.join(root, file), 'utf8');
      expect(compacted.length).toBeLessThan((await readFile(path.join(original, file), 'utf8')).length);
      expect([...compacted].filter((c) => c.charCodeAt(0) > 0x7f)).toEqual([]);
    }
    expect(await readFile(path.join(root, 'tiny-cjs/index.js'), 'utf8')).toContain('MIT licence, keep me');
  });

  it('a file that is not JavaScript is left byte for byte, and stale source maps are removed', async () => {
    expect(await readFile(path.join(root, 'not-js/broken.js'), 'utf8')).toBe(
      await readFile(path.join(original, 'not-js/broken.js'), 'utf8'),
    );
    await expect(stat(path.join(root, 'tiny-cjs/index.js.map'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
