import { ErrorCodes } from './errors.js';

/** The README's error-code table, generated from `ErrorCodes` (a unit test keeps the README in sync). */
export function errorCodesMarkdown(): string {
  const rows = Object.entries(ErrorCodes).map(
    ([code, e]) => `| \`${code}\` | ${e.exit} | ${e.retryable ? 'yes' : 'no'} | ${e.summary} |`,
  );
  return ['| Code | Exit | Retryable | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}
