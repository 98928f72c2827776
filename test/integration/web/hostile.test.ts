import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, VIEWER_TOKEN, startWebDaemon, type WebDaemon } from './web-daemon.js';

let web: WebDaemon;
beforeAll(async () => {
  web = await startWebDaemon({ web: { maxClients: 3 } });
});
afterAll(() => web?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** One raw HTTP/1.1 exchange; the reply is read until the server closes the connection. */
function raw(request: string | Buffer): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(web.base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // The server may stop reading a body it refused; its reply arrived before the reset.
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e);
    });
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), text }));
    socket.write(request);
  });
}

/** The page still answers: whatever came before did not take it down. */
async function expectAlive(): Promise<void> {
  const res = await fetch(`${web.base}/api/whoami`, { headers: bearer(VIEWER_TOKEN) });
  expect(res.status).toBe(200);
  expect(web.daemon.process.exitCode).toBeNull();
}

describe('the status page', { timeout: 120_000 }, () => {
  it('sends a CSP that allows only its own origin, and no-sniff / no-frame headers, on every answer', async () => {
    for (const path of ['/login', '/app.js', '/api/whoami', '/no-such-page']) {
      const res = await fetch(`${web.base}${path}`, { headers: bearer(VIEWER_TOKEN) });
      expect(res.headers.get('content-security-policy'), path).toMatch(/^default-src 'self';/);
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });

  it('refuses a missing or wrong token, and does not take one from the query string', async () => {
    expect((await fetch(`${web.base}/api/whoami`)).status).toBe(401);
    expect(
      (await fetch(`${web.base}/api/whoami`, { headers: bearer('wrong-token-0000000000') })).status,
    ).toBe(401);
    expect((await fetch(`${web.base}/api/whoami?token=${ADMIN_TOKEN}`)).status).toBe(401);
    const page = await fetch(`${web.base}/?token=${ADMIN_TOKEN}`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login');
  });

  it('logs in through the form with an HttpOnly cookie, and refuses a wrong token there', async () => {
    const wrong = await fetch(`${web.base}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: 'wrong-token-0000000000' }),
      redirect: 'manual',
    });
    expect(wrong.headers.get('location')).toBe('/login#refused');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const right = await fetch(`${web.base}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: VIEWER_TOKEN }),
      redirect: 'manual',
    });
    const cookie = right.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const me = await fetch(`${web.base}/api/whoami`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(await me.json()).toMatchObject({ name: 'viewer', mayAct: false });
    // Neither token appears in what the daemon logged.
    expect(web.daemon.output).not.toContain(ADMIN_TOKEN);
    expect(web.daemon.output).not.toContain(VIEWER_TOKEN);
  });

  it('lets a read-only token look but not act, and takes actions only as JSON', async () => {
    const dlq = await fetch(`${web.base}/api/v1/queues/local/dead-letters`, {
      headers: bearer(VIEWER_TOKEN),
    });
    expect(dlq.status).toBe(200);
    const replay = await fetch(`${web.base}/api/v1/queues/local/replay`, {
      method: 'POST',
      headers: { ...bearer(VIEWER_TOKEN), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(replay.status).toBe(403);
    const asForm = await fetch(`${web.base}/api/v1/queues/local/replay`, {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=b',
    });
    expect(asForm.status).toBe(400);
    const asAdmin = await fetch(`${web.base}/api/v1/queues/local/replay`, {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await asAdmin.json()).toMatchObject({ route: 'local', replayed: 0 });
  });

  it('answers bad paths with 4xx and serves no file outside the page', async () => {
    const targets = [
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/vendor/../../package.json',
      '//etc/passwd',
      '/api/devices/%E0%A4%A/history',
      '/api/v1/devices/%ff',
      'http://elsewhere/',
      '*',
    ];
    for (const target of targets) {
      const { status, text } = await raw(
        `GET ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${VIEWER_TOKEN}\r\nconnection: close\r\n\r\n`,
      );
      expect(status, target).toBeGreaterThanOrEqual(400);
      expect(status, target).toBeLessThan(500);
      expect(text, target).not.toContain('root:');
      expect(text, target).not.toContain('"name": "fieldgate"');
    }
    const garbage = await raw('\x16\x03\x01\x02\x00 not http at all\r\n\r\n');
    expect(garbage.status).toBe(400);
    await expectAlive();
  });

  it('refuses a huge body with 413 without reading it, and a slow endless one at the limit', async () => {
    const declared = await raw(
      `POST /login HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${1024 ** 3}\r\n\r\ntoken=`,
    );
    expect(declared.status).toBe(413);
    const chunk = 'x'.repeat(16 * 1024);
    const chunked = await raw(
      `POST /api/v1/commands HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n` +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(8) +
        '0\r\n\r\n',
    );
    expect(chunked.status).toBe(400);
    expect(chunked.text).toContain('too large');
    await expectAlive();
  });

  it('bounds live-update streams (503 beyond web.maxClients) and survives a connection flood', async () => {
    const streams = await Promise.all(
      Array.from({ length: 3 }, () => fetch(`${web.base}/api/events`, { headers: bearer(VIEWER_TOKEN) })),
    );
    for (const s of streams) expect(s.status).toBe(200);
    const extra = await fetch(`${web.base}/api/events`, { headers: bearer(VIEWER_TOKEN) });
    expect(extra.status).toBe(503);
    for (const s of streams) await s.body?.cancel();

    const { hostname, port } = new URL(web.base);
    const sockets = await Promise.all(
      Array.from(
        { length: 300 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(Number(port), hostname, () => resolve(socket));
            socket.on('error', () => resolve(socket));
          }),
      ),
    );
    for (const socket of sockets) socket.destroy();
    // Once the streams above are gone a new page can connect again.
    let again = 0;
    for (let i = 0; i < 100 && again !== 200; i++) {
      const res = await fetch(`${web.base}/api/events`, { headers: bearer(VIEWER_TOKEN) });
      again = res.status;
      await res.body?.cancel();
      if (again !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toBe(200);
    await expectAlive();
  });
});
