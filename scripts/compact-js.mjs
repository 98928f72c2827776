#!/usr/bin/env node
// `node scripts/compact-js.mjs <node_modules dir>`: rewrites the JavaScript of installed dependencies in
// compact form, for a release tree (systemd/package.sh calls it; a checkout keeps its originals).
//
// Why: V8 keeps the source text of every module it loads for as long as the process lives (functions are
// compiled from it when first called). zwave-js alone is ~7 MiB of ES module source, much of it comments and
// indentation, and one file in five holds a character outside Latin-1 (often in a comment), which makes V8
// store the whole file at two bytes per character. Minified, with non-ASCII characters escaped, the same
// modules take about half the heap (docs/benchmarks.md#footprint).
//
// CommonJS files lose only comments and whitespace. The named exports of a CommonJS module, as an ES module
// importing it sees them, are found by reading its text for known patterns (Node's cjs-module-lexer:
// `exports.x =`, `Object.defineProperty(exports, "x", { enumerable: true, get … })`, TypeScript's
// `__exportStar(require(…), exports)`); minifying syntax or names changes those patterns
// (`enumerable: !0`, a renamed `__exportStar`) and `import { setLogger } from 'zigbee-herdsman'` finds nothing.
//
// Each file is minified on its own (esbuild's transform: module format, file layout and paths unchanged), so
// `require`, `import`, `__dirname` and `import.meta.url` resolve exactly as before. In ES modules local names
// are shortened but every function and class keeps its `.name` (`keepNames`; esbuild also renames when it
// merges scopes), so stack traces and code that reads a class's name (zwave-js does) see the originals.
// CommonJS files keep every name as written. Licence comments
// (`/*! … */`, `@license`) are kept. A file esbuild cannot parse, or that would not shrink, is left as it is.
// The source map of a rewritten file no longer matches it and is removed.
import { lstat, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { transform } from 'esbuild';

/** The oldest Node a release supports: esbuild keeps every syntax that version runs. */
const TARGET = 'node20.19';
const SCRIPT = /\.(?:c|m)?js$/;
/** esbuild works on several files at once; more in flight than this gains nothing on a small machine. */
const IN_FLIGHT = 8;

const root = process.argv[2];
if (root === undefined) {
  process.stderr.write('usage: node scripts/compact-js.mjs <node_modules dir>\n');
  process.exit(2);
}

const totals = { files: 0, before: 0, after: 0, kept: 0 };

/** Every regular file under `dir` (symbolic links are not followed: they point outside the tree or back in). */
async function* filesUnder(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(file);
    else if (entry.isFile()) yield file;
  }
}

/** `"type"` of the package.json nearest above each directory asked about (Node's rule for `.js` files). */
const packageTypes = new Map();

async function packageTypeOf(dir) {
  if (!packageTypes.has(dir)) {
    let type;
    try {
      const parsed = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
      type = parsed.type === 'module' ? 'module' : 'commonjs';
    } catch {
      type = path.dirname(dir) === dir ? 'commonjs' : await packageTypeOf(path.dirname(dir));
    }
    packageTypes.set(dir, type);
  }
  return packageTypes.get(dir);
}

/** Whether Node loads `file` as an ES module: `.mjs`, or `.js` under a package.json of `"type": "module"`. */
async function isEsModule(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  return (await packageTypeOf(path.dirname(file))) === 'module';
}

/** esbuild's settings for an ES module: minified, names kept. */
const ES_MODULE = { format: 'esm', minify: true, keepNames: true };
/** For a CommonJS module: comments and whitespace only, so its export patterns read as before. */
const COMMONJS = { minifyWhitespace: true };

/** Rewrites `file` minified; false when it is left as it is. */
async function compact(file) {
  const raw = await readFile(file);
  const source = raw.toString('utf8');
  // Not UTF-8 (a binary or Latin-1 file with a .js name): leave it alone.
  if (!Buffer.from(source, 'utf8').equals(raw)) return false;
  let code;
  try {
    ({ code } = await transform(source, {
      ...((await isEsModule(file)) ? ES_MODULE : COMMONJS),
      loader: 'js',
      target: TARGET,
      charset: 'ascii',
      legalComments: 'inline',
      sourcefile: file,
      logLevel: 'silent',
    }));
  } catch {
    return false;
  }
  if (code.length >= source.length) return false;
  const { mode } = await lstat(file);
  const temporary = `${file}.compact-tmp`;
  await writeFile(temporary, code, { mode });
  await rename(temporary, file);
  await rm(`${file}.map`, { force: true });
  totals.before += raw.length;
  totals.after += code.length;
  return true;
}

const scripts = [];
for await (const file of filesUnder(root)) {
  if (SCRIPT.test(file)) scripts.push(file);
}
async function worker() {
  for (let file = scripts.pop(); file !== undefined; file = scripts.pop()) {
    if (await compact(file)) totals.files++;
    else totals.kept++;
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

const mib = (bytes) => (bytes / 1048576).toFixed(1);
process.stderr.write(
  `compact-js: ${totals.files} files ${mib(totals.before)} → ${mib(totals.after)} MiB, ` +
    `${totals.kept} files left as they were\n`,
);
