import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** Who a request comes from, once its token or session cookie is checked. */
export interface Viewer {
  /** The token's name (`web.tokens[].name`); `local` when the page needs no token. */
  name: string;
  /** May change things (commands, pairing, replay, rename, remove). */
  mayAct: boolean;
}

export const SESSION_COOKIE = 'fg_session';
/** A browser session lasts this long after login. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** Sessions kept at once; the oldest goes first. */
const MAX_SESSIONS = 64;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Tokens and browser sessions of the status page. A token arrives as `Authorization: Bearer <token>` (a
 * script), or once in a login form whose answer sets an HttpOnly session cookie (a browser): never in a URL,
 * so it never lands in a log, a history or a Referer. Without configured tokens (allowed on loopback only)
 * every request is the read-only viewer `local`.
 */
export class WebAuth {
  readonly #tokens: { name: string; hash: Buffer; mayAct: boolean }[];
  readonly #sessions = new Map<string, { viewer: Viewer; expiresAt: number }>();

  constructor(
    tokens: readonly { name: string; token?: string | undefined; actions: boolean }[],
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = tokens
      .filter((t) => t.token !== undefined)
      .map((t) => ({ name: t.name, hash: digest(t.token!), mayAct: t.actions }));
  }

  get isRequired(): boolean {
    return this.#tokens.length > 0;
  }

  /** The viewer a token belongs to, compared in constant time; undefined for a wrong one. */
  viewerFor(token: string): Viewer | undefined {
    const hash = digest(token);
    let found: Viewer | undefined;
    // Every token is compared, so the time taken says nothing about which one was close.
    for (const t of this.#tokens)
      if (timingSafeEqual(hash, t.hash)) found ??= { name: t.name, mayAct: t.mayAct };
    return found;
  }

  /** The viewer of a request; undefined when a token is needed and none (or a wrong one) came. */
  check(req: http.IncomingMessage): Viewer | undefined {
    if (!this.isRequired) return { name: 'local', mayAct: false };
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      return match === null ? undefined : this.viewerFor(match[1]!);
    }
    const sessionId = cookieOf(req, SESSION_COOKIE);
    if (sessionId === undefined) return undefined;
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.now()) {
      this.#sessions.delete(sessionId);
      return undefined;
    }
    return session.viewer;
  }

  /** Starts a session for a viewer; returns the cookie value. */
  startSession(viewer: Viewer): string {
    const id = randomBytes(24).toString('base64url');
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(id, { viewer, expiresAt: this.now() + SESSION_TTL_MS });
    return id;
  }

  endSession(req: http.IncomingMessage): void {
    const id = cookieOf(req, SESSION_COOKIE);
    if (id !== undefined) this.#sessions.delete(id);
  }
}

/** One cookie's value from the request, if present. */
export function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
