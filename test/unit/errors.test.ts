import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodesMarkdown } from '../../src/errors-table.js';
import { ErrorCodes, FieldgateError, exitCodeFor, isFieldgateError, isRetryable } from '../../src/errors.js';

describe('error codes', () => {
  it('the docs/errors.md table lists exactly the codes in src/errors.ts', () => {
    // Compare cell by cell, so Prettier's column alignment of the docs table does not matter.
    const cells = (table: string) =>
      table
        .split('\n')
        .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
        .map((line) => line.split('|').map((cell) => cell.trim()));
    const doc = readFileSync('docs/errors.md', 'utf8');
    const table = /<!-- error-codes:start -->([\s\S]*?)<!-- error-codes:end -->/.exec(doc)?.[1] ?? '';
    expect(cells(table), 'regenerate the table from src/errors-table.ts').toEqual(
      cells(errorCodesMarkdown()),
    );
  });

  it('maps codes to exit codes and retryability', () => {
    const config = new FieldgateError('FG_CONFIG_INVALID', 'bad');
    expect(exitCodeFor(config)).toBe(78);
    expect(isRetryable(config)).toBe(false);
    expect(isRetryable(new FieldgateError('FG_UPSTREAM_OFFLINE', 'down'))).toBe(true);
    expect(exitCodeFor(new Error('plain'))).toBe(1);
    expect(isFieldgateError(config, 'FG_CONFIG_INVALID')).toBe(true);
    expect(isFieldgateError(config, 'FG_QUEUE_FULL')).toBe(false);
    expect(Object.keys(ErrorCodes).every((c) => c.startsWith('FG_'))).toBe(true);
  });
});
