import path from 'node:path';
import { chromium } from 'playwright-core';
import { BenchDaemon } from '../support/daemon.js';
import type { Sample } from '../support/figures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep } from '../support/wait.js';
import { MB, type ScenarioContext } from './context.js';

/** Debian's chromium, as in the browser tests; `FIELDGATE_TEST_CHROMIUM` names another. */
const CHROMIUM = process.env.FIELDGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The status page's footprint (docs/benchmarks.md#footprint, docs/status-page.md): the idle fleet of
 * `fieldgate.rss.idle` (1,000 sim devices at the default interval) with `web.enabled`, first with no page
 * open (`fieldgate.rss.webEnabled`), then with one browser on the overview, which receives every status
 * tick and every reading over SSE (`fieldgate.rss.webBrowser`). Compared with `fieldgate.rss.idle`.
 */
export async function webFootprint(ctx: ScenarioContext): Promise<Sample[]> {
  const broker = await Mosquitto.start({ dir: path.join(ctx.dir, 'broker'), persistence: false });
  const daemon = await BenchDaemon.start({
    dir: ctx.dir,
    upstreamPort: broker.port,
    adapters: { sim: { climate: 1000, reportIntervalMs: 5000, jitterMs: 500 } },
    web: { enabled: true, listen: '127.0.0.1:0' },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    await sleep(ctx.warmupMs + ctx.windowMs / 2);
    const enabled = await daemon.rssBytes();
    const url = daemon.webUrl();
    if (url === undefined) throw new Error('the status page did not start');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${url}/`);
    await page.locator('[data-route="local"]').waitFor({ timeout: 60_000 });
    await sleep(ctx.warmupMs + ctx.windowMs / 2);
    const withBrowser = await daemon.rssBytes();
    return [
      { name: 'fieldgate.rss.webEnabled', value: enabled / MB, unit: 'MiB' },
      { name: 'fieldgate.rss.webBrowser', value: withBrowser / MB, unit: 'MiB' },
    ];
  } finally {
    await browser.close();
    await daemon.stop();
    await broker.stop();
  }
}
