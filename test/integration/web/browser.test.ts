import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startWebDaemon, type WebDaemon } from './web-daemon.js';

/** Debian's chromium (scripts/test-deps.sh installs it); playwright-core drives it, downloading nothing. */
const CHROMIUM = process.env.FIELDGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots and measured figures of the page go here (gitignored). */
const OUT = path.resolve('test-results/web');
/** A slow, shared 2-core machine: every wait is for a condition, with room to spare. */
const WAIT_MS = 45_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let web: WebDaemon;
let browser: Browser;
let desktop: BrowserContext;
let page: Page;
/** Every URL the page asked for, to show it never leaves the gateway. */
const requested: string[] = [];

beforeAll(async () => {
  await mkdir(OUT, { recursive: true });
  web = await startWebDaemon({ reportIntervalMs: 500 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  desktop = await browser.newContext({ viewport: DESKTOP });
  page = await desktop.newPage();
  page.on('request', (r) => requested.push(r.url()));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function shoot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
}

async function logIn(target: Page, token: string): Promise<void> {
  await target.goto(`${web.base}/`);
  await target.waitForURL(/\/login/);
  await target.fill('#token', token);
  await target.click('button[type=submit]');
}

const routeState = (target: Page) => target.locator('[data-route="local"] [data-testid="route-state"]');

describe('the status page in a real browser', { timeout: 150_000 }, () => {
  it('shows the route connected and readings moving, loading nothing from elsewhere', async () => {
    await logIn(page, ADMIN_TOKEN);
    await page.waitForURL(`${web.base}/`);
    await expect.poll(() => routeState(page).textContent(), { timeout: WAIT_MS }).toMatch(/^(idle|sending)$/);
    const delivered = async () =>
      Number((await page.locator('[data-testid="delivered"]').textContent())?.replace(/\D/g, ''));
    const first = await delivered();
    await expect.poll(delivered, { timeout: WAIT_MS }).toBeGreaterThan(first);
    const points = () => page.locator('[data-route="local"] .backlog-chart').getAttribute('data-points');
    await expect.poll(async () => Number(await points()), { timeout: WAIT_MS }).toBeGreaterThanOrEqual(2);
    await shoot('overview-1280');

    const outside = requested.filter((url) => !url.startsWith(`${web.base}/`) && !url.startsWith('data:'));
    expect(outside).toEqual([]);
  });

  it('measures the first load: bytes transferred and the delay of a live update (recorded, not judged)', async () => {
    const fresh = await desktop.newPage();
    const sizes: { url: string; bytes: number }[] = [];
    fresh.on('requestfinished', (request) => {
      void request
        .sizes()
        .then((s) => sizes.push({ url: request.url(), bytes: s.responseBodySize + s.responseHeadersSize }));
    });
    await fresh.goto(`${web.base}/`);
    await fresh.locator('[data-route="local"]').waitFor({ timeout: WAIT_MS });
    await fresh.waitForLoadState('networkidle').catch(() => undefined);
    // The gateway's clock stamps each reading; the page notes when it shows it (same machine, same clock).
    const delaysMs = await fresh.evaluate<number[]>(`new Promise((resolve) => {
      const delays = [];
      const events = new EventSource('/api/events');
      events.addEventListener('readings', (e) => {
        const now = Date.now();
        for (const r of JSON.parse(e.data).readings) delays.push(now - r.ts);
        if (delays.length >= 50) {
          events.close();
          resolve(delays);
        }
      });
    })`);
    await fresh.close();
    delaysMs.sort((a, b) => a - b);
    const figures = {
      firstLoadBytes: sizes
        .filter((s) => !s.url.endsWith('/api/events'))
        .reduce((sum, s) => sum + s.bytes, 0),
      requests: sizes.map((s) => `${new URL(s.url).pathname} ${s.bytes}`),
      updateDelayMs: {
        median: delaysMs[Math.floor(delaysMs.length / 2)],
        p95: delaysMs[Math.floor(delaysMs.length * 0.95)],
      },
    };
    await writeFile(path.join(OUT, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    expect(figures.firstLoadBytes).toBeGreaterThan(0);
  });

  it('turns the route state and the backlog chart within seconds of the broker stopping', async () => {
    const chart = page.locator('[data-route="local"] .backlog-chart');
    // The chart's highest backlog while the broker was up: the outage must climb past it.
    const before = Math.max(10, Number(await chart.getAttribute('data-max-depth')));
    await web.broker.close();
    await expect
      .poll(() => routeState(page).textContent(), { timeout: WAIT_MS })
      .toMatch(/^(backoff|connecting)$/);
    await expect
      .poll(async () => Number(await chart.getAttribute('data-last-depth')), { timeout: WAIT_MS })
      .toBeGreaterThan(before);
    await shoot('overview-outage-1280');
    await web.restartBroker();
    await expect.poll(() => routeState(page).textContent(), { timeout: WAIT_MS }).toMatch(/^(idle|sending)$/);
  });

  it('lists devices with a filter, and a device page charts its values', async () => {
    await page.goto(`${web.base}/#/devices`);
    await page.locator('tr[data-device="sim:climate-01"]').waitFor({ timeout: WAIT_MS });
    await shoot('devices-1280');
    await page.fill('#device-filter', 'switch');
    await expect.poll(() => page.locator('#devices tbody tr').count(), { timeout: WAIT_MS }).toBe(1);
    await page.goto(`${web.base}/#/device/${encodeURIComponent('sim:climate-01')}`);
    await page.locator('.chart[data-series="temperature"] canvas').waitFor({ timeout: WAIT_MS });
    await expect
      .poll(() => page.locator('[data-value="temperature"]').textContent(), { timeout: WAIT_MS })
      .toMatch(/°C/);
    await shoot('device-1280');
  });

  it('shows a device joining while a pairing window is open on the sim radio', async () => {
    await page.goto(`${web.base}/#/pairing`);
    await page.fill('#pair-seconds', '20');
    await page.click('[data-pair="sim"] button[data-adapter="sim"]');
    await expect
      .poll(() => page.locator('[data-pair="sim"] [data-testid="countdown"]').textContent(), {
        timeout: WAIT_MS,
      })
      .toMatch(/\d+ s/);
    await page.locator('[data-pair="sim"] li[data-device="sim:paired-01"]').waitFor({ timeout: WAIT_MS });
    await expect
      .poll(() => page.locator('[data-pair="sim"] li[data-device="sim:paired-01"]').textContent(), {
        timeout: WAIT_MS,
      })
      .toMatch(/sim-climate/);
    await shoot('pairing-1280');
  });

  it('sends a command that reaches the device and shows its result', async () => {
    const stateOf = async () => {
      const res = await fetch(`${web.base}/api/v1/devices/sim:switch-01`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      return ((await res.json()) as { current: { state?: { value: boolean } } }).current.state?.value;
    };
    await expect.poll(stateOf, { timeout: WAIT_MS }).toBeTypeOf('boolean');
    const before = await stateOf();
    await page.goto(`${web.base}/#/commands`);
    await page.selectOption('#cmd-device', 'sim:switch-01');
    await page.fill('#cmd-name', before === true ? 'off' : 'on');
    await page.click('form.stack button[type=submit]');
    const result = page.locator('[data-testid="cmd-status"]').first();
    await expect.poll(() => result.textContent(), { timeout: WAIT_MS }).toMatch(/^ok/);
    // The switch itself changed: its next readings say so.
    await expect.poll(stateOf, { timeout: WAIT_MS }).toBe(!before);
    await shoot('commands-1280');
  });

  it('shows dead letters and the live log', async () => {
    await page.goto(`${web.base}/#/dead-letters`);
    await page
      .locator('[data-dlq="local"] [data-testid="dlq-empty"], [data-dlq="local"] table')
      .first()
      .waitFor({ timeout: WAIT_MS });
    await shoot('dead-letters-1280');
    await page.goto(`${web.base}/#/logs`);
    await expect
      .poll(() => page.locator('#log-lines').textContent(), { timeout: WAIT_MS })
      .toContain('Status page login.');
    await shoot('logs-1280');
  });

  it('fits a phone screen', async () => {
    const phone = await browser.newContext({ viewport: PHONE, storageState: await desktop.storageState() });
    const small = await phone.newPage();
    for (const [name, hash] of [
      ['overview', '#/'],
      ['devices', '#/devices'],
      ['device', `#/device/${encodeURIComponent('sim:climate-01')}`],
      ['pairing', '#/pairing'],
      ['commands', '#/commands'],
      ['dead-letters', '#/dead-letters'],
      ['logs', '#/logs'],
    ] as const) {
      await small.goto(`${web.base}/${hash}`);
      await small.locator('#view h2').first().waitFor({ timeout: WAIT_MS });
      await small.waitForTimeout(300);
      // Nothing wider than the screen: the page scrolls vertically only.
      const overflow = await small.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow, name).toBeLessThanOrEqual(0);
      await shoot(`${name}-390`, small);
    }
    await phone.close();
  });

  it('refuses a wrong token', async () => {
    const stranger = await browser.newContext({ viewport: DESKTOP });
    const other = await stranger.newPage();
    await logIn(other, 'not-the-token-00000000000');
    await other.locator('#refused').waitFor({ state: 'visible', timeout: WAIT_MS });
    expect(new URL(other.url()).pathname).toBe('/login');
    const status = await other.evaluate(async () => (await fetch('/api/whoami')).status);
    expect(status).toBe(401);
    await shoot('login-refused-1280', other);
    await stranger.close();
  });
});
