/** What a redacted value is replaced with, in output and logs alike. */
export const REDACTED = '[redacted]';

/** Keys whose value is a credential whatever it is, even when written inline rather than as a reference. */
const SECRET_KEYS = new Set(['password', 'token', 'key', 'sasToken', 'sharedAccessKey', 'connectionString']);

// A secret shorter than this could occur by chance inside unrelated text (a port, a word), so it is
// redacted only where it is the whole value.
const MIN_EMBEDDED_SECRET_LENGTH = 4;

/**
 * A copy of the effective config fit to print (`config show --effective`): every string that is, or
 * contains, a resolved secret value, and every credential-named key, becomes `[redacted]`.
 */
export function redactConfig(config: unknown, secrets: readonly string[]): unknown {
  const embeddable = secrets.filter((secret) => secret.length >= MIN_EMBEDDED_SECRET_LENGTH);
  const isSecret = (text: string) =>
    secrets.includes(text) || embeddable.some((secret) => text.includes(secret));
  const visit = (value: unknown, key: string | undefined): unknown => {
    if (typeof value === 'string') {
      return (key !== undefined && SECRET_KEYS.has(key)) || isSecret(value) ? REDACTED : value;
    }
    if (Array.isArray(value)) return value.map((item) => visit(item, undefined));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, child]) => [k, visit(child, k)]));
    }
    return value;
  };
  return visit(config, undefined);
}
