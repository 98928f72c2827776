import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../logger.js';
import { Runtime } from '../runtime.js';
import { VERSION } from '../version.js';
import { DEFAULT_CONFIG_PATH } from './common.js';

/** `fieldgate run`: the daemon. Resolves when it has stopped after SIGTERM/SIGINT. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the gateway daemon in the foreground (what systemd starts)')
    .option('-c, --config <file>', 'configuration file', process.env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string }) => {
      const { config } = await loadConfig(options.config);
      const log = createLogger({ level: config.log.level });
      const runtime = new Runtime({ config, log, version: VERSION });

      const stopped = new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) return;
          stopping = true;
          log.info({ signal }, 'Stopping.');
          runtime.stop().then(resolve, (e: unknown) => {
            log.error({ err: e }, 'Stop failed.');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await runtime.start();
      await stopped;
      log.flush();
    });
}
