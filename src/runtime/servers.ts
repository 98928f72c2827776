import type { Config } from '../config/schema.js';
import type { ControlStats } from '../control/control-stats.js';
import type { GatewayApi } from '../control/gateway-api.js';
import { ControlServer } from '../control/server.js';
import type { MetricsServer } from '../health/metrics-server.js';
import type { StatusSnapshot } from '../health/status.js';
import type { Logger } from '../logger.js';
import type { LogRing } from '../web/log-ring.js';
import type { WebServer } from '../web/server.js';

export interface ServersOptions {
  /** What the control socket and the status page serve: the runtime. */
  api: GatewayApi;
  config: Config;
  log: Logger;
  now: () => number;
  /** The daemon's recent log lines, for the status page's live log. */
  webLogs?: LogRing | undefined;
}

/**
 * The gateway's listening sockets: the control socket (`control.socket`), the metrics endpoint
 * (`metrics.listen`) and the status page (`web.enabled`), each only when configured.
 */
export class Servers {
  #control: ControlServer | undefined;
  #metrics: MetricsServer | undefined;
  #web: WebServer | undefined;
  readonly #options: ServersOptions;

  constructor(options: ServersOptions) {
    this.#options = options;
  }

  /**
   * Listens on the control socket unless it already does or `control.socket` is empty. Called early when
   * the queue storage is unavailable, so the CLI can ask why, and again in the normal start.
   */
  async listenControl(): Promise<void> {
    const { config, log } = this.#options;
    if (this.#control !== undefined || config.control.socket === '') return;
    this.#control = new ControlServer({
      runtime: this.#options.api,
      socketPath: config.control.socket,
      group: config.control.group,
      log: log.child({ component: 'control' }),
    });
    await this.#control.listen();
  }

  /** Starts the metrics endpoint and the status page where configured. */
  async listenHttp(status: () => StatusSnapshot): Promise<void> {
    const { config, log } = this.#options;
    if (config.metrics.listen !== '') {
      // Loaded only when configured: prom-client and its default collectors cost ~2 MiB of heap.
      const { MetricsServer } = await import('../health/metrics-server.js');
      this.#metrics = new MetricsServer({
        listen: config.metrics.listen,
        status,
        log: log.child({ component: 'metrics' }),
      });
      await this.#metrics.listen();
    }
    if (config.web.enabled) {
      // Loaded only when enabled: the page's files and history cost nothing on a gateway that has it off.
      const { WebServer } = await import('../web/server.js');
      this.#web = new WebServer({
        api: this.#options.api,
        config: config.web,
        logs: this.#options.webLogs,
        log: log.child({ component: 'web' }),
        now: this.#options.now,
      });
      await this.#web.listen();
    }
  }

  /** The control socket's counters, for `status`; undefined while it does not listen. */
  controlStats(): ControlStats | undefined {
    return this.#control?.stats();
  }

  /** Closes the status page, the control socket and the metrics endpoint, in that order. */
  async close(): Promise<void> {
    await this.#web?.close();
    await this.#control?.close();
    await this.#metrics?.close();
  }
}
