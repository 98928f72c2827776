import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** An ES module package: local class names, `import.meta.url`, top-level await, non-Latin-1 text, a licence. */
const ESM = `/*! tiny-esm | MIT licence, keep me */
import { fileURLToPath } from 'node:url';
import { sensorKind, ReadingKind, celsius, defaultUnit } from 'tiny-cjs';
// A comment that compaction drops → with a character outside Latin-1, which makes V8 store the whole file at
// two bytes per character.
function defineRecords() {
  // Local names are what minification renames; their \`.name\` must survive.
  class DeviceRecord {
    static unit = 'µs';
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
export const className = DeviceRecord.name;
export const functionName = makeRecord.name;
export const described = makeRecord('plug-1').describe();
export const isWord = /^\\p{L}+$/u.test('Ünïcode');
export const raw = String.raw\`a\\u2192b\`;
export const here = fileURLToPath(import.meta.url).split('/').at(-2);
export const awaited = await Promise.resolve('awaited ✓');
export const fromCommonJs = \`\${sensorKind} \${new ReadingKind().constructor.name} \${celsius} \${defaultUnit}\`;
`;

/**
 * A CommonJS package written as TypeScript emits it. An ES module importing it finds its named exports only by
 * reading these patterns (Node's cjs-module-lexer): `exports.x =`, `Object.defineProperty(exports, "x", {
 * enumerable: true, get … })` and the re-exports of `__exportStar(require(…), exports)`.
 */
const CJS = `"use strict";
// A comment that compaction drops: it is long enough that the file shrinks without it, and the patterns
// below must read the same afterwards. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.
var __createBinding = (this && this.__createBinding) || function (o, m, k) {
    Object.defineProperty(o, k, { enumerable: true, get: function () { return m[k]; } });
};
var __exportStar = (this && this.__exportStar) || function (m, exports) {
    for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports, p)) __createBinding(exports, m, p);
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.ReadingKind = exports.sensorKind = exports.defaultUnit = void 0;
const units_1 = require("./units.js");
__exportStar(require("./units.js"), exports);
exports.sensorKind = 'climate';
class ReadingKind {
}
exports.ReadingKind = ReadingKind;
Object.defineProperty(exports, "defaultUnit", { enumerable: true, get: function () { return units_1.celsius; } });
`;
const CJS_UNITS = `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.celsius = void 0;
// Degrees Celsius, as the sensors report them.
exports.celsius = '°C';
`;

let root: string;
let original: string;

async function write(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

async function exportsOf(modules: string): Promise<Record<string, unknown>> {
  return { ...((await import(pathToFileURL(path.join(modules, 'tiny-esm/index.js')).href)) as object) };
}

describe('release: compact-js minifies the dependencies without changing what they do', () => {
  beforeAll(async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-compact-'));
    original = path.join(base, 'original', 'node_modules');
    root = path.join(base, 'compacted', 'node_modules');
    await write(path.join(original, 'tiny-esm/package.json'), '{"name":"tiny-esm","type":"module"}');
    await write(path.join(original, 'tiny-esm/index.js'), ESM);
    await write(path.join(original, 'tiny-esm/index.js.map'), '{"version":3,"sources":[],"mappings":""}');
    await write(path.join(original, 'tiny-esm/broken.js'), 'this is not { JavaScript at all\n');
    await write(path.join(original, 'tiny-cjs/package.json'), '{"name":"tiny-cjs","main":"index.js"}');
    await write(path.join(original, 'tiny-cjs/index.js'), CJS);
    await write(path.join(original, 'tiny-cjs/units.js'), CJS_UNITS);
    await cp(original, root, { recursive: true });
    await run(process.execPath, ['scripts/compact-js.mjs', root]);
  }, 60_000);

  afterAll(async () => {
    await rm(path.dirname(path.dirname(root)), { recursive: true, force: true });
  });

  it('the ES module exports the same values, class and function names included', async () => {
    const before = await exportsOf(original);
    const after = await exportsOf(root);
    expect(after).toEqual(before);
    expect(after).toMatchObject({
      className: 'DeviceRecord',
      functionName: 'makeRecord',
      described: 'plug-1: 21.5 °C → ok',
      raw: 'a\\u2192b',
      isWord: true,
      here: 'tiny-esm',
      fromCommonJs: 'climate ReadingKind °C °C',
    });
  });

  it('the ES module shrinks, holds only ASCII (one byte per character in V8) and keeps its licence', async () => {
    const compacted = await readFile(path.join(root, 'tiny-esm/index.js'), 'utf8');
    expect(compacted.length).toBeLessThan(ESM.length);
    expect([...compacted].filter((c) => c.charCodeAt(0) > 0x7f)).toEqual([]);
    expect(compacted).toContain('MIT licence, keep me');
    await expect(stat(path.join(root, 'tiny-esm/index.js.map'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('CommonJS files lose comments and whitespace only: the export patterns and names read as before', async () => {
    const compacted = await readFile(path.join(root, 'tiny-cjs/index.js'), 'utf8');
    expect(compacted.length).toBeLessThan(CJS.length);
    expect(compacted).not.toContain('Lorem ipsum');
    expect(compacted).toContain('__exportStar(require("./units.js"),exports)');
    expect(compacted).toContain(
      'Object.defineProperty(exports,"defaultUnit",{enumerable:true,get:function(){',
    );
    const units = await readFile(path.join(root, 'tiny-cjs/units.js'), 'utf8');
    expect([...units].filter((c) => c.charCodeAt(0) > 0x7f)).toEqual([]);
  });

  it('a file esbuild cannot parse is left byte for byte', async () => {
    expect(await readFile(path.join(root, 'tiny-esm/broken.js'), 'utf8')).toBe(
      await readFile(path.join(original, 'tiny-esm/broken.js'), 'utf8'),
    );
  });
});
