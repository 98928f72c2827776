import { ErrorCodes } from './errors.js';

/** The error-code table of docs/errors.md, generated from `ErrorCodes` (a unit test keeps docs/errors.md in sync). */
export function errorCodesMarkdown(): string {
  const rows = Object.entries(ErrorCodes).map(
    ([code, e]) => `| \`${code}\` | ${e.exit} | ${e.retryable ? 'yes' : 'no'} | ${e.summary} |`,
  );
  return ['| Code | Exit | Retryable | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}
