import { configSchema } from './schema.js';
import { mapSecrets, secretFields, type SecretKind } from './secret-fields.js';

/** What a redacted value is replaced with, in output and logs alike. */
export const REDACTED = '[redacted]';

// A secret shorter than this could occur by chance inside unrelated text (a port, a word), so it is
// redacted only where it is the whole value.
const MIN_EMBEDDED_SECRET_LENGTH = 4;
// A hex string this long (8 bytes) is treated as key material, so its byte forms are scrubbed too.
const MIN_KEY_HEX_DIGITS = 16;

/**
 * The one redaction pass every output path uses: config errors, `config show`, `status`, `/readyz`, the
 * twin report and log lines.
 *
 * Two layers: by schema path (`redactConfig` replaces every value at a key the schema marks secret, and
 * a URL's password), and by value (`scrub` removes every known secret from any text, in each form it may
 * take there: as written, trimmed, JSON-escaped, URL-encoded, and for key material lower/upper hex,
 * colon-separated, `0x`-prefixed, decimal bytes and base64).
 *
 * Values are added as the config is loaded (and again on a reload); the set only grows, so a secret that
 * was replaced stays scrubbed from late log lines.
 */
export class Redactor {
  /** Forms long enough to be searched for inside text, longest first. */
  #embedded: string[] = [];
  /** Every form, for whole-value matches. */
  readonly #whole = new Set<string>();

  constructor(values: readonly unknown[] = []) {
    this.add(values);
  }

  /** Adds secret values (strings, numbers, byte arrays) in every form they may be printed in. */
  add(values: readonly unknown[]): void {
    for (const value of values) for (const form of secretForms(value)) this.#whole.add(form);
    this.#embedded = [...this.#whole]
      .filter((form) => form.length >= MIN_EMBEDDED_SECRET_LENGTH)
      .sort((a, b) => b.length - a.length);
  }

  /** Adds every value another redactor knows (a reload's). */
  merge(other: Redactor): void {
    this.add([...other.#whole]);
  }

  /** True when `text` contains a known secret (or is one). */
  reveals(text: string): boolean {
    return this.#whole.has(text) || this.#embedded.some((form) => text.includes(form));
  }

  /** `text` with every known secret replaced by `[redacted]`. */
  scrub(text: string): string {
    if (this.#whole.has(text)) return REDACTED;
    let out = text;
    for (const form of this.#embedded) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  }

  /**
   * A line of JSON (a log line) with secrets scrubbed inside its string literals only, so the line stays
   * valid JSON whatever the secret looks like (a numeric password never turns `"pid":12345` into garbage).
   */
  scrubJsonLine(line: string): string {
    if (!this.#embedded.some((form) => line.includes(form))) return line;
    return line.replace(JSON_STRING, (literal) => {
      const inner = literal.slice(1, -1);
      const scrubbed = this.scrub(inner);
      return scrubbed === inner ? literal : `"${scrubbed}"`;
    });
  }

  /** A deep copy of `value` with every string scrubbed (status snapshots, twin documents). */
  scrubDeep<T>(value: T): T {
    return deepMapStrings(value, (text) => this.scrub(text)) as T;
  }

  /**
   * A copy of a config (parsed, or as written) fit to print: every value at a secret key becomes
   * `[redacted]` (a URL keeps all but its password), then every other string is scrubbed of known secrets.
   */
  redactConfig(config: unknown): unknown {
    return this.scrubDeep(redactSecretPaths(config));
  }
}

// A JSON string literal: quote, then escaped characters or anything but a quote or backslash.
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/** A copy with every value at a schema-marked secret key replaced (`url` kind: only the password). */
export function redactSecretPaths(config: unknown): unknown {
  return mapSecrets(config, configSchema, (value, kind) => redactValue(value, kind));
}

function redactValue(value: unknown, kind: SecretKind): unknown {
  if (kind === 'url' && typeof value === 'string') return redactUrl(value);
  return REDACTED;
}

/** `mqtt://user:[redacted]@host`: a URL with its userinfo password replaced; other URLs unchanged. */
export function redactUrl(url: string): string {
  const parts = urlUserinfo(url);
  if (parts?.password === undefined) return url;
  return `${parts.scheme}${parts.user}:${REDACTED}@${parts.rest}`;
}

// `scheme://userinfo@rest`, the userinfo up to the last `@` (a password may hold an unencoded `@`).
const URL_WITH_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@]*)$/is;

function urlUserinfo(
  url: string,
): { scheme: string; user: string; password: string | undefined; rest: string } | undefined {
  const match = URL_WITH_USERINFO.exec(url);
  if (match === null) return undefined;
  const [, scheme, userinfo, rest] = match as unknown as [string, string, string, string];
  const colon = userinfo.indexOf(':');
  return colon < 0
    ? { scheme, user: userinfo, password: undefined, rest }
    : { scheme, user: userinfo.slice(0, colon), password: userinfo.slice(colon + 1), rest };
}

/** The userinfo password of a URL (`hunter2` in `mqtt://user:hunter2@host`), if it has one. */
export function urlPassword(url: string): string | undefined {
  return urlUserinfo(url)?.password;
}

/**
 * The secret values held by a config (parsed or as written): every value at a secret key, and the
 * password of every URL at a `url` key.
 */
export function secretValuesOf(
  config: unknown,
  isWanted: (path: readonly PropertyKey[]) => boolean = () => true,
): unknown[] {
  const values: unknown[] = [];
  mapSecrets(config, configSchema, (value, kind, path) => {
    if (!isWanted(path)) return value;
    if (kind === 'value') values.push(value);
    else if (typeof value === 'string') {
      const password = urlUserinfo(value)?.password;
      if (password !== undefined && password !== '') values.push(password);
    }
    return value;
  });
  return values;
}

/** A redactor that knows every secret of `config` (by schema path) and `extra` values. */
export function redactorFor(config: unknown, extra: readonly unknown[] = []): Redactor {
  return new Redactor([...secretValuesOf(config), ...extra]);
}

/** The leaf key names the schema marks as whole-value secrets: what the logger censors by path. */
export function secretKeyNames(): string[] {
  const names = secretFields(configSchema)
    .filter((field) => field.kind === 'value')
    .map((field) => field.path.at(-1)!)
    .filter((name) => name !== '*' && name !== '[]');
  return [...new Set(names)].sort();
}

/** Every text form a secret may take in output. Objects and lists of non-bytes give their leaves' forms. */
export function secretForms(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return stringForms(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return stringForms(String(value));
  }
  if (Buffer.isBuffer(value)) return byteForms([...value]);
  if (Array.isArray(value)) {
    const isBytes =
      value.length > 0 && value.every((item) => Number.isInteger(item) && item >= 0 && item <= 255);
    return isBytes ? byteForms(value as number[]) : value.flatMap((item) => secretForms(item));
  }
  if (typeof value === 'object') return Object.values(value).flatMap((item) => secretForms(item));
  return [];
}

function stringForms(text: string): string[] {
  if (text === '') return [];
  const forms = new Set([text, text.trim()]);
  forms.add(JSON.stringify(text).slice(1, -1));
  forms.add(encodeURIComponent(text));
  try {
    forms.add(decodeURIComponent(text));
  } catch {
    // Not percent-encoded text; the other forms cover it.
  }
  // A connection string's key may be printed on its own (a signature's input, a parse error).
  const sharedAccessKey = /(?:^|;)\s*SharedAccessKey=([^;]+)/.exec(text)?.[1];
  if (sharedAccessKey !== undefined && sharedAccessKey !== text) {
    for (const form of stringForms(sharedAccessKey.trim())) forms.add(form);
  }
  const hex = text
    .trim()
    .replace(/^0x/i, '')
    .replaceAll(/[\s:-]/g, '');
  if (hex.length >= MIN_KEY_HEX_DIGITS && hex.length % 2 === 0 && /^[0-9a-f]+$/i.test(hex)) {
    for (const form of byteForms([...Buffer.from(hex, 'hex')])) forms.add(form);
  }
  forms.delete('');
  return [...forms];
}

function byteForms(bytes: readonly number[]): string[] {
  const hexes = bytes.map((b) => b.toString(16).padStart(2, '0'));
  const forms = new Set<string>();
  for (const pairs of [hexes, hexes.map((h) => h.toUpperCase())]) {
    forms.add(pairs.join(''));
    forms.add(`0x${pairs.join('')}`);
    forms.add(pairs.join(':'));
    forms.add(pairs.join(' '));
    forms.add(pairs.map((h) => `0x${h}`).join(', '));
    forms.add(pairs.map((h) => `0x${h}`).join(','));
  }
  forms.add(bytes.join(','));
  forms.add(bytes.join(', '));
  forms.add(Buffer.from(bytes).toString('base64'));
  return [...forms];
}

function deepMapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => deepMapStrings(item, map));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepMapStrings(v, map)]));
  }
  return value;
}
