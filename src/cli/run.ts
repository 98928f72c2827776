import { Option, type Command } from 'commander';
import { LOG_FORMAT_SETTINGS, type LogFormatSetting } from '../log-format.js';
import { interpretStartUp } from '../ops/v8-flags.js';
import { DEFAULT_CONFIG_PATH } from './common.js';

/** After a failed start, the longest the process lingers before it exits regardless. */
const FAILED_START_EXIT_MS = 3000;
/** After a stop (SIGTERM), the longest the process lingers before it exits regardless. */
const STOPPED_EXIT_MS = 3000;

/** `fieldgate run`: the daemon. Resolves when it has stopped after SIGTERM/SIGINT. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the gateway daemon in the foreground (what systemd starts)')
    .option('-c, --config <file>', 'configuration file', process.env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_PATH)
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines: auto (the default: log.format), json, pretty, journal',
      ).choices(LOG_FORMAT_SETTINGS),
    )
    .action(async (options: { config: string; logFormat?: LogFormatSetting }) => {
      // The daemon's modules load only for `run`: a CLI verb stays small and quick on a Pi.
      interpretStartUp();
      const { runDaemon } = await import('../ops/daemon.js');
      try {
        await runDaemon(
          options.config,
          options.logFormat === undefined ? {} : { logFormat: options.logFormat },
        );
        // Everything is stopped and flushed; a library timer nobody can clear (zigbee-herdsman's deCONZ
        // adapter runs one from its constructor) must not keep a stopped daemon from exiting.
        setTimeout(() => process.exit(), STOPPED_EXIT_MS).unref();
      } catch (e) {
        // A failed start has released what it started; should a library still hold the event loop open, the
        // process ends anyway instead of hanging (the error is printed and the exit code set by the caller).
        setTimeout(() => process.exit(), FAILED_START_EXIT_MS).unref();
        throw e;
      }
    });
}
