import { createHmac } from 'node:crypto';

/**
 * IoT Hub shared access signatures (docs/clouds/azure-iot-hub.md#sas-tokens): pure, no I/O. The token is
 * `SharedAccessSignature sr={enc(resource)}&sig={enc(base64 HMAC)}&se={expiry s}[&skn={policy}]`, signed
 * over the *encoded* `sr` exactly as it appears in the token, a line feed, and `se`.
 */

export interface SasTokenInput {
  /** Resource URI without scheme: `{host}/devices/{id}` for a device key, `{host}` or narrower for a policy. */
  resourceUri: string;
  /** The shared key as configured: base64 text. */
  keyBase64: string;
  /** Expiry in whole seconds since the epoch. */
  expiresAtS: number;
  /** Hub policy name (`skn`); omitted for a device's own key. */
  policyName?: string;
}

/** The fields of a parsed token, still URL-encoded as they appeared on the wire. */
export interface ParsedSasToken {
  srLiteral: string;
  sigLiteral: string;
  se: string;
  skn?: string;
}

const PREFIX = 'SharedAccessSignature ';

/**
 * `encodeURIComponent` plus `! ' ( ) *`, which the Node device SDK re-encodes in lower-case hex while all
 * else keeps upper-case hex. Matching it byte for byte matters: the hub signs the literal `sr`.
 */
export function encodeUriComponentStrict(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toLowerCase()}`,
  );
}

/** base64(HMAC-SHA256(base64decode(key), `${srLiteral}\n${se}`)). */
export function signSas(keyBase64: string, srLiteral: string, se: string): string {
  return createHmac('sha256', Buffer.from(keyBase64, 'base64'))
    .update(`${srLiteral}\n${se}`)
    .digest('base64');
}

/** The token in the Node SDK's field order (`sr`, `sig`, `skn`, `se`). */
export function createSasToken(input: SasTokenInput): string {
  const sr = encodeUriComponentStrict(input.resourceUri);
  const se = String(input.expiresAtS);
  const sig = encodeUriComponentStrict(signSas(input.keyBase64, sr, se));
  const skn = input.policyName === undefined ? '' : `&skn=${encodeUriComponentStrict(input.policyName)}`;
  return `${PREFIX}sr=${sr}&sig=${sig}${skn}&se=${se}`;
}

/** Parse a token whose fields may come in any order; undefined when it is not a well-formed token. */
export function parseSasToken(token: string): ParsedSasToken | undefined {
  if (!token.startsWith(PREFIX)) return undefined;
  const fields = new Map<string, string>();
  for (const pair of token.slice(PREFIX.length).split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) return undefined;
    fields.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const srLiteral = fields.get('sr');
  const sigLiteral = fields.get('sig');
  const se = fields.get('se');
  if (srLiteral === undefined || sigLiteral === undefined || se === undefined || !/^\d+$/.test(se)) {
    return undefined;
  }
  const skn = fields.get('skn');
  return { srLiteral, sigLiteral, se, ...(skn === undefined ? {} : { skn: decodeURIComponent(skn) }) };
}
