#!/usr/bin/env node
// `node scripts/compact-js.mjs <node_modules dir>`: rewrites the JavaScript of installed dependencies in
// compact form, for a release tree (systemd/package.sh calls it; a checkout keeps its originals).
//
// Why: V8 keeps the source text of every module it loads for as long as the process lives (functions are
// compiled from it when first called). The Z-Wave and Zigbee stacks are ~9 MiB of source, much of it
// comments, long names and — for one file in five — a single non-Latin-1 character in a comment that makes
// V8 store the whole file at two bytes per character. Minified, with non-ASCII characters escaped, the same
// modules take less than half the heap (docs/benchmarks.md#footprint).
//
// Each file is minified on its own (esbuild's transform: module format, file layout and paths unchanged), so
// `require`, `import`, `__dirname` and `import.meta.url` resolve exactly as before. Function and class names
// are kept (`keepNames`), so stack traces and code that reads `.name` see the originals; licence comments
// (`/*! … */`, `@license`) are kept. A file esbuild cannot parse, or that would not shrink, is left as it is.
// Source maps of the rewritten files no longer match them and are removed.
import { lstat, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { transform } from 'esbuild';

/** The oldest Node a release supports: esbuild keeps every syntax that version runs. */
const TARGET = 'node20.19';
const SCRIPT = /\.(?:c|m)?js$/;
const SOURCE_MAP = /\.(?:c|m)?js\.map$/;

const root = process.argv[2];
if (root === undefined) {
  process.stderr.write('usage: node scripts/compact-js.mjs <node_modules dir>\n');
  process.exit(2);
}

const totals = { files: 0, before: 0, after: 0, kept: 0, maps: 0 };

/** Every regular file under `dir` (symbolic links are not followed: they point outside the tree or back in). */
async function* filesUnder(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(file);
    else if (entry.isFile()) yield file;
  }
}

async function compact(file) {
  const raw = await readFile(file);
  const source = raw.toString('utf8');
  // Not UTF-8 (a binary or Latin-1 file with a .js name): leave it alone.
  if (!Buffer.from(source, 'utf8').equals(raw)) return false;
  let code;
  try {
    ({ code } = await transform(source, {
      loader: 'js',
      target: TARGET,
      minify: true,
      keepNames: true,
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
  totals.before += raw.length;
  totals.after += code.length;
  return true;
}

/** esbuild works on several files at once; more in flight than this gains nothing on a small machine. */
const IN_FLIGHT = 8;
const scripts = [];
for await (const file of filesUnder(root)) {
  if (SOURCE_MAP.test(file)) {
    await rm(file);
    totals.maps++;
  } else if (SCRIPT.test(file)) {
    scripts.push(file);
  }
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
    `${totals.kept} left as they were, ${totals.maps} source maps removed\n`,
);
