#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerConfigCommands } from './cli/config.js';
import { registerDaemonVerbs } from './cli/daemon-verbs.js';
import { registerRunCommand } from './cli/run.js';
import { formatIssue, type ConfigIssue } from './config/load.js';
import { errorMessage, exitCodeFor, isFieldgateError } from './errors.js';
import { VERSION } from './version.js';

/**
 * Process entry: parse the command line, run the verb, map errors to exit codes (DESIGN.md §8:
 * 0 ok, 1 error, 2 usage, 69 daemon unreachable, 75 temporary failure, 78 invalid config).
 */
async function main(argv: string[]): Promise<void> {
  const program = new Command('fieldgate')
    .version(VERSION)
    .description(
      'Field gateway for BLE, Zigbee and Z-Wave devices, with durable store-and-forward to the cloud.',
    )
    .exitOverride()
    .showHelpAfterError();
  registerRunCommand(program);
  registerConfigCommands(program);
  registerDaemonVerbs(program);

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

function reportFatal(e: unknown): void {
  const issues = isFieldgateError(e) ? (e.context?.errors as ConfigIssue[] | undefined) : undefined;
  if (issues !== undefined && issues.length > 0) {
    for (const issue of issues) process.stderr.write(`${formatIssue(issue)}\n`);
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

await main(process.argv);
