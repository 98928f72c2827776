import { z } from 'zod';
import { configSchema } from './schema.js';

/** Where the generated schema is checked in, relative to the repository root. */
export const JSON_SCHEMA_PATH = 'config/fieldgate.schema.json';

/**
 * The JSON Schema of the config *as written* (`io: 'input'`: defaulted keys are optional, sizes may be
 * strings), for editor completion through the yaml-language-server modeline.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input' }),
    title: 'fieldgate configuration',
  };
}

/** The file's exact text, so a stale check-in is a plain string mismatch. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
