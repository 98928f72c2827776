import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { FieldgateError } from '../errors.js';

/** One file of the page, held in memory: the page is small, and nothing is read from disk per request. */
export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

/** The page's files (`web/` in the package) and uPlot's from its npm package, by URL path. */
const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/login': 'login.html',
  '/app.js': 'app.js',
  '/views.js': 'views.js',
  '/charts.js': 'charts.js',
  '/style.css': 'style.css',
  '/login.js': 'login.js',
};
const UPLOT_FILES: Record<string, string> = {
  '/vendor/uPlot.iife.min.js': 'uPlot.iife.min.js',
  '/vendor/uPlot.min.css': 'uPlot.min.css',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * The folder holding the page: `web/` at the package root, found from `dist/src/web/` (the build and the
 * release) or `src/web/` (tests run from source).
 */
export function pageDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const dir = path.resolve(here, up, 'web');
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new FieldgateError(
    'FG_CONFIG_INVALID',
    `web: the page's files (web/index.html) are missing near ${here}`,
  );
}

/** Reads every file of the page into memory. @throws FieldgateError when one is missing. */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const dir = pageDir();
  const uplotDir = path.join(
    path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')),
    'dist',
  );
  const files = [
    ...Object.entries(PAGE_FILES).map(([url, file]) => [url, path.join(dir, file)] as const),
    ...Object.entries(UPLOT_FILES).map(([url, file]) => [url, path.join(uplotDir, file)] as const),
  ];
  const assets = new Map<string, Asset>();
  for (const [url, file] of files) {
    const body = await readFile(file).catch((e: unknown) => {
      throw new FieldgateError('FG_CONFIG_INVALID', `web: cannot read ${file}`, { cause: e });
    });
    assets.set(url, {
      type: TYPES[path.extname(file)] ?? 'application/octet-stream',
      body,
      gzip: gzipSync(body),
    });
  }
  return assets;
}
