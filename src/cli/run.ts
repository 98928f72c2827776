import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from './common.js';

/** `fieldgate run`: the daemon. Resolves when it has stopped after SIGTERM/SIGINT. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the gateway daemon in the foreground (what systemd starts)')
    .option('-c, --config <file>', 'configuration file', process.env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string }) => {
      // The daemon's modules load only for `run`: a CLI verb stays small and quick on a Pi.
      const { runDaemon } = await import('../ops/daemon.js');
      await runDaemon(options.config);
    });
}
