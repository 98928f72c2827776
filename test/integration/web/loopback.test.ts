import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebDaemon, type WebDaemon } from './web-daemon.js';

let web: WebDaemon;
beforeAll(async () => {
  web = await startWebDaemon({ web: { tokens: [] } });
});
afterAll(() => web?.close());

describe('the status page on loopback without tokens', { timeout: 120_000 }, () => {
  it('opens without a login, read-only', async () => {
    const page = await fetch(`${web.base}/`, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="view">');
    expect(await (await fetch(`${web.base}/api/whoami`)).json()).toMatchObject({
      name: 'local',
      mayAct: false,
      isTokenRequired: false,
    });
    expect((await fetch(`${web.base}/api/v1/status`)).status).toBe(200);
    const replay = await fetch(`${web.base}/api/v1/queues/local/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(replay.status).toBe(403);
    const pair = await fetch(`${web.base}/api/v1/pair`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ adapter: 'sim', seconds: 5 }),
    });
    expect(pair.status).toBe(403);
  });

  it('ends on SIGTERM while a page holds a live stream open', async () => {
    const stream = await fetch(`${web.base}/api/events`);
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value as Uint8Array);
    expect(first).toMatch(/^event: status\n/);
    expect(await web.daemon.stop()).toBe(0);
    // The stream ends with the daemon instead of hanging.
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) break;
  });
});
