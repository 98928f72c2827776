#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerCommands } from './cli/commands.js';
import { listedIssues, registerConfigCommands } from './cli/config.js';
import { registerDevices } from './cli/devices.js';
import { registerDoctor } from './cli/doctor.js';
import { registerEmulateAws } from './cli/emulate-aws.js';
import { registerEmulateAzure } from './cli/emulate-azure.js';
import { registerInit } from './cli/init.js';
import { registerPair } from './cli/pair.js';
import { registerProvision } from './cli/provision.js';
import { registerQueue } from './cli/queue.js';
import { registerRunCommand } from './cli/run.js';
import { registerSend } from './cli/send.js';
import { registerStatus } from './cli/status.js';
import { registerTail } from './cli/tail.js';
import { registerTop } from './cli/top/top.js';
import type { ConfigIssue } from './config/load.js';
import { errorMessage, exitCodeFor, isFieldgateError } from './errors.js';
import { VERSION } from './version.js';

const EXIT_CODES_HELP = `
Exit codes:
  0   ok
  1   error (a check failed, a command did not succeed)
  2   usage: unknown verb or option, bad argument
  69  daemon unreachable: nothing answers on the control socket
  75  temporary failure: try again later (another daemon holds the state dir, command pending)
  78  invalid configuration

Environment: FIELDGATE_CONFIG (config file), NO_COLOR (plain output), FIELDGATE__SECTION__KEY (overrides).`;

/**
 * Process entry: parse the command line, run the verb, map errors to exit codes
 * (docs/operations.md#exit-codes:
 * 0 ok, 1 error, 2 usage, 69 daemon unreachable, 75 temporary failure, 78 invalid config).
 */
async function main(argv: string[]): Promise<void> {
  const program = new Command('fieldgate')
    .version(VERSION)
    .description(
      'Field gateway for BLE, Zigbee and Z-Wave devices, with durable store-and-forward to the cloud.',
    )
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP);
  registerRunCommand(program);
  registerConfigCommands(program);
  registerInit(program);
  registerStatus(program);
  registerDevices(program);
  registerPair(program);
  registerProvision(program);
  registerQueue(program);
  registerCommands(program);
  registerTail(program);
  registerTop(program);
  registerSend(program);
  registerDoctor(program);
  const emulate = program.command('emulate').description('run a local cloud emulator (dev and demo)');
  registerEmulateAzure(emulate);
  registerEmulateAws(emulate);

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version requests are not errors; everything else commander rejects is a usage error.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    reportFatal(e);
  }
}

/**
 * Print why the verb failed and set the exit code. A refused config lists its first issues (a mangled file
 * has hundreds, and under systemd each is a journal line) and says how to see them all.
 */
function reportFatal(e: unknown): void {
  const context = isFieldgateError(e) ? e.context : undefined;
  const issues = context?.errors as ConfigIssue[] | undefined;
  if (issues !== undefined && issues.length > 0) {
    const file = typeof context?.file === 'string' ? context.file : issues[0]!.file;
    process.stderr.write(
      listedIssues(
        issues,
        (more) =>
          `${file}: …and ${more} more issues; run \`fieldgate config validate --json ${file}\` for all`,
      ),
    );
  } else {
    process.stderr.write(`fieldgate: ${errorMessage(e)}\n`);
  }
  process.exitCode = exitCodeFor(e);
}

process.on('unhandledRejection', (e) => {
  process.stderr.write(
    `fieldgate: unhandled error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});

// `fieldgate tail | head` closes our stdout early; that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

await main(process.argv);
