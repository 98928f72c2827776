/**
 * Regenerates `config/fieldgate.schema.json` from the zod schema (`npm run schema`). Run from the
 * repository root; a unit test fails while the checked-in file is stale.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { JSON_SCHEMA_PATH, renderConfigJsonSchema } from './json-schema.js';

const target = path.resolve(process.cwd(), JSON_SCHEMA_PATH);
await writeFile(target, renderConfigJsonSchema());
process.stdout.write(`wrote ${target}\n`);
