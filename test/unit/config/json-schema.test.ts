import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA_PATH, renderConfigJsonSchema } from '../../../src/config/json-schema.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('config/fieldgate.schema.json', () => {
  it('is up to date with the zod schema (regenerate with `npm run schema`)', async () => {
    const checkedIn = await readFile(path.join(ROOT, JSON_SCHEMA_PATH), 'utf8');
    expect(JSON.parse(checkedIn)).toEqual(JSON.parse(renderConfigJsonSchema()));
  });

  it('describes the input side: defaulted keys are optional and sizes may be strings', () => {
    const schema = JSON.parse(renderConfigJsonSchema()) as {
      required?: string[];
      properties: { queue: { properties: { maxBytes: { anyOf: { type: string }[] } } } };
    };
    expect(schema.required ?? []).toEqual([]);
    expect(schema.properties.queue.properties.maxBytes.anyOf.map((option) => option.type)).toEqual([
      'integer',
      'string',
    ]);
  });
});
