import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE, SESSION_TTL_MS, WebAuth } from '../../../src/web/auth.js';

const TOKENS = [
  { name: 'ops', token: 'ops-token-0123456789', actions: true },
  { name: 'wall', token: 'wall-token-0123456789', actions: false },
];

type Request = Parameters<WebAuth['check']>[0];
const request = (headers: Request['headers']) => ({ headers }) as Request;

describe('WebAuth', () => {
  it('without tokens, everyone is the read-only viewer `local`', () => {
    expect(new WebAuth([]).check(request({}))).toEqual({ name: 'local', mayAct: false });
  });

  it('takes a bearer token, and refuses a wrong or malformed one', () => {
    const auth = new WebAuth(TOKENS);
    expect(auth.check(request({ authorization: 'Bearer ops-token-0123456789' }))).toEqual({
      name: 'ops',
      mayAct: true,
    });
    expect(auth.check(request({ authorization: 'Bearer wall-token-0123456789' }))).toEqual({
      name: 'wall',
      mayAct: false,
    });
    expect(auth.check(request({ authorization: 'Bearer ops-token-012345678' }))).toBeUndefined();
    expect(auth.check(request({ authorization: 'Basic b3BzOnRva2Vu' }))).toBeUndefined();
    expect(auth.check(request({}))).toBeUndefined();
  });

  it('knows a session cookie until it expires or the session ends', () => {
    let now = 0;
    const auth = new WebAuth(TOKENS, () => now);
    const id = auth.startSession({ name: 'wall', mayAct: false });
    const withCookie = request({ cookie: `theme=dark; ${SESSION_COOKIE}=${id}` });
    expect(auth.check(withCookie)).toEqual({ name: 'wall', mayAct: false });
    expect(auth.check(request({ cookie: `${SESSION_COOKIE}=guessed` }))).toBeUndefined();
    now = SESSION_TTL_MS;
    expect(auth.check(withCookie)).toBeUndefined();
    const again = auth.startSession({ name: 'ops', mayAct: true });
    const cookie = request({ cookie: `${SESSION_COOKIE}=${again}` });
    auth.endSession(cookie);
    expect(auth.check(cookie)).toBeUndefined();
  });

  it('keeps a bounded number of sessions, dropping the oldest', () => {
    const auth = new WebAuth(TOKENS);
    const first = auth.startSession({ name: 'ops', mayAct: true });
    for (let i = 0; i < 64; i++) auth.startSession({ name: 'ops', mayAct: true });
    expect(auth.check(request({ cookie: `${SESSION_COOKIE}=${first}` }))).toBeUndefined();
  });
});
