import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { formatIssue } from '../config/issues.js';
import { errorMessage, isFieldgateError } from '../errors.js';
import { runChecks, type CheckResult } from '../health/doctor.js';
import type { ConfigIssue } from '../config/issues.js';
import { DEFAULT_CONFIG_PATH } from './common.js';
import { paint, printJson } from './output.js';

const MARK = { ok: '✓', warn: '‼', fail: '✗' } as const;
const TONE = { ok: 'ok', warn: 'warn', fail: 'bad' } as const;

/** `fieldgate doctor`: local checks with ✓/‼/✗ and a fix hint each; exit 1 when any check fails. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check config, state dir, clock, radios, cloud reachability and the control socket')
    .option('-c, --config <file>', 'configuration file', process.env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_PATH)
    .option('--json', 'machine-readable output')
    .action(async (options: { config: string; json?: boolean }) => {
      const results = await diagnose(options.config);
      if (options.json === true) printJson({ ok: results.every((r) => r.level !== 'fail'), checks: results });
      else process.stdout.write(`${results.map(renderCheck).join('\n')}\n`);
      if (results.some((r) => r.level === 'fail')) process.exitCode = 1;
    });
}

/** The config check first; the rest need a valid config, so they run only when it is. */
export async function diagnose(file: string): Promise<CheckResult[]> {
  try {
    const { config } = await loadConfig(file);
    return [{ name: 'config', level: 'ok', detail: `${file} is valid` }, ...(await runChecks(config))];
  } catch (e) {
    const issues = isFieldgateError(e) ? (e.context?.errors as ConfigIssue[] | undefined) : undefined;
    const detail = issues?.map(formatIssue).join('; ') ?? errorMessage(e);
    return [
      {
        name: 'config',
        level: 'fail',
        detail,
        hint: `fix the file, then \`fieldgate config validate ${file}\`; the other checks need a valid config`,
      },
    ];
  }
}

export function renderCheck(result: CheckResult): string {
  const line = `${paint(MARK[result.level], TONE[result.level])} ${result.name}: ${result.detail}`;
  return result.hint === undefined ? line : `${line}\n    → ${result.hint}`;
}
