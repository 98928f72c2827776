import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from './common.js';

/** After a failed start, the longest the process lingers before it exits regardless. */
const FAILED_START_EXIT_MS = 3000;

/** `fieldgate run`: the daemon. Resolves when it has stopped after SIGTERM/SIGINT. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the gateway daemon in the foreground (what systemd starts)')
    .option('-c, --config <file>', 'configuration file', process.env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string }) => {
      // The daemon's modules load only for `run`: a CLI verb stays small and quick on a Pi.
      const { runDaemon } = await import('../ops/daemon.js');
      try {
        await runDaemon(options.config);
      } catch (e) {
        // A failed start has released what it started; should a library still hold the event loop open, the
        // process ends anyway instead of hanging (the error is printed and the exit code set by the caller).
        setTimeout(() => process.exit(), FAILED_START_EXIT_MS).unref();
        throw e;
      }
    });
}
