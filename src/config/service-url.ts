import { z } from 'zod';

/** `scheme://[user[:password]@]host[:port][/…]`, split without judging: the checks below say what is wrong. */
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/;

/**
 * Why `text` is not a URL a client can connect to with one of `schemes`, or undefined when it is: an
 * unsupported scheme, a port that is not a number or not 1–65535, no host. Never quotes the URL, which may
 * hold a password.
 */
export function serviceUrlProblem(text: string, schemes: readonly string[]): string | undefined {
  const expected = `expected ${schemes.map((s) => `${s}://`).join(', ')}`;
  const parts = URL_PARTS.exec(text);
  if (parts === null) return `not a URL; ${expected}host:port`;
  const [, scheme = '', host = '', port] = parts;
  if (!schemes.includes(scheme.toLowerCase())) return `unsupported scheme ${scheme}://; ${expected}`;
  if (host === '') return 'the URL has no host';
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port)) return `the port must be a number, got "${port.slice(0, 20)}"`;
    const value = Number(port);
    if (value < 1 || value > 65535) return `port ${port.slice(0, 20)} is out of range (1–65535)`;
  }
  if (!URL.canParse(text)) return 'not a valid URL (check for spaces or stray characters)';
  return undefined;
}

/** A string that must be a connectable URL with one of `schemes` (checked at load, with the reason). */
export function serviceUrl(schemes: readonly string[]) {
  return z.string().superRefine((text, ctx) => {
    const problem = serviceUrlProblem(text, schemes);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}
