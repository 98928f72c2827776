import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isScalar, parseDocument, stringify } from 'yaml';
import { FieldgateError, errorMessage, exitCodeFor, isFieldgateError } from '../errors.js';
import type { ConfigIssue } from '../config/issues.js';
import { formatIssue, loadConfig } from '../config/load.js';
import { REDACTED, Redactor, redactUrl, urlPassword } from '../config/redact.js';
import { configSchema } from '../config/schema.js';
import { mapSecrets } from '../config/secret-fields.js';
import { secretTag } from '../config/yaml-source.js';

/**
 * The file `config show` reads when `--config` is not given (docs/architecture.md#configuration-and-reload).
 */
export const DEFAULT_CONFIG_FILE = '/etc/fieldgate/fieldgate.yaml';

/** Where a command writes, and the environment it loads with; injected so tests need no process. */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A person reads the first issues and fixes them; a mangled file can have hundreds (`--json` has them all). */
export const MAX_LISTED_ISSUES = 50;

/**
 * `fieldgate config validate FILE [--json]`: prints `FILE: ok` (after any warnings, on stderr) and returns 0,
 * or prints the issues and returns 78: on stderr the first `MAX_LISTED_ISSUES` and a line counting the rest,
 * or every issue as `{ valid, errors, warnings }` on stdout with `--json`.
 */
export async function runConfigValidate(
  file: string,
  options: { json?: boolean },
  io: CommandIo,
): Promise<number> {
  try {
    const { warnings } = await loadConfig(file, loadOptions(io));
    if (options.json === true) {
      io.stdout.write(`${JSON.stringify({ valid: true, errors: [], warnings })}\n`);
    } else {
      io.stderr.write(warnings.map((warning) => `${formatIssue(warning)}\n`).join(''));
      io.stdout.write(`${file}: ok\n`);
    }
    return 0;
  } catch (error) {
    const errors = issuesOf(error, file);
    if (options.json === true) {
      io.stdout.write(`${JSON.stringify({ valid: false, errors }, null, 2)}\n`);
    } else {
      io.stderr.write(
        listedIssues(
          errors,
          (more) => `${errors[0]!.file}: …and ${more} more issues (--json lists them all)`,
        ),
      );
    }
    return exitCodeFor(error);
  }
}

/**
 * One line per issue, at most `MAX_LISTED_ISSUES`; when there are more, `summary(count of the rest)` is the
 * last line, saying where to find them all. Shared by `config validate` and a refused `fieldgate run`.
 */
export function listedIssues(issues: readonly ConfigIssue[], summary: (more: number) => string): string {
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => `${formatIssue(issue)}\n`);
  const more = issues.length - listed.length;
  if (more > 0) listed.push(`${summary(more)}\n`);
  return listed.join('');
}

/**
 * `fieldgate config show [--effective] [--config FILE] [--json]`. Without `--effective` it prints the file as
 * written (the user's own text and comments), with every value written inline at a secret key redacted
 * (`!secret name` and `${VAR}` references stay: they name, not hold, the secret). With `--effective` it
 * prints what the daemon would run with — defaults, overrides and secrets resolved — with every secret
 * value redacted.
 */
export async function runConfigShow(
  options: { effective?: boolean; config?: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const file = options.config ?? (io.env ?? process.env).FIELDGATE_CONFIG ?? DEFAULT_CONFIG_FILE;
  try {
    if (options.effective !== true) {
      const text = redactWritten(await readFile(file, 'utf8'));
      io.stdout.write(options.json === true ? `${JSON.stringify(parseWritten(text), null, 2)}\n` : text);
      return 0;
    }
    const loaded = await loadConfig(file, loadOptions(io));
    const redacted = loaded.redactor.redactConfig(loaded.config);
    io.stdout.write(options.json === true ? `${JSON.stringify(redacted, null, 2)}\n` : stringify(redacted));
    return 0;
  } catch (error) {
    const issues = issuesOf(error, file);
    io.stderr.write(issues.map((issue) => `${formatIssue(issue)}\n`).join(''));
    return exitCodeFor(error);
  }
}

/**
 * The file a `config` verb reads: the argument, else `--config`, else `FIELDGATE_CONFIG`, else the default, as
 * `fieldgate run` finds it. Both verbs take the same two ways to name it.
 * @throws FieldgateError `FG_USAGE` when the argument and `--config` name different files.
 */
export function configFileOf(
  argument: string | undefined,
  option: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (argument !== undefined && option !== undefined && argument !== option)
    throw new FieldgateError('FG_USAGE', `two files named: ${argument} and --config ${option}; give one`);
  return argument ?? option ?? env.FIELDGATE_CONFIG ?? DEFAULT_CONFIG_FILE;
}

/** Adds `config validate` and `config show` to the program; each sets `process.exitCode`. */
export function registerConfigCommands(program: Command): void {
  const processIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };
  const config = program.command('config').description('Check and inspect the configuration.');
  config
    .command('validate')
    .description('Report every problem in a configuration file at once (exit 78 when invalid).')
    .argument(
      '[file]',
      'configuration file (default: --config, FIELDGATE_CONFIG, /etc/fieldgate/fieldgate.yaml)',
    )
    .option('-c, --config <file>', 'configuration file')
    .option('--json', 'print { valid, errors } as JSON on stdout')
    .action(async (file: string | undefined, options: { config?: string; json?: boolean }) => {
      process.exitCode = await runConfigValidate(configFileOf(file, options.config), options, processIo);
    });
  config
    .command('show')
    .description('Print the configuration; --effective shows defaults, overrides and redacted secrets.')
    .argument(
      '[file]',
      'configuration file (default: --config, FIELDGATE_CONFIG, /etc/fieldgate/fieldgate.yaml)',
    )
    .option('--effective', 'print the configuration the daemon would run with')
    .option('-c, --config <file>', 'configuration file')
    .option('--json', 'print JSON instead of YAML')
    .action(
      async (file: string | undefined, options: { effective?: boolean; config?: string; json?: boolean }) => {
        const chosen = configFileOf(file, options.config);
        process.exitCode = await runConfigShow({ ...options, config: chosen }, processIo);
      },
    );
}

function loadOptions(io: CommandIo): { env?: NodeJS.ProcessEnv; cwd?: string } {
  return {
    ...(io.env === undefined ? {} : { env: io.env }),
    ...(io.cwd === undefined ? {} : { cwd: io.cwd }),
  };
}

/** The issues of a load failure; an unreadable file becomes one issue so `--json` output keeps its shape. */
function issuesOf(error: unknown, file: string): ConfigIssue[] {
  const errors = isFieldgateError(error) ? error.context?.['errors'] : undefined;
  if (Array.isArray(errors)) return errors as ConfigIssue[];
  return [{ file, line: 0, col: 0, path: '', message: errorMessage(error) }];
}

/** The file as written, as data; `!secret name` stays visibly a reference rather than looking like a value. */
function parseWritten(text: string): unknown {
  const shownTag = { ...secretTag, resolve: (name: string) => `${secretTag.tag} ${name}` };
  return parseDocument(text, { customTags: [shownTag] }).toJS();
}

// `${NAME}` references and nothing else: text that names a secret without holding it.
const ONLY_REFERENCES = /^(\$\{[A-Za-z_][A-Za-z0-9_]*\})+$/;

/**
 * The file's text with every value written inline at a secret key replaced by `[redacted]` (a URL keeps
 * all but its password), comments and layout kept; then any of those values written elsewhere (a
 * comment, another key) is scrubbed too.
 */
export function redactWritten(text: string): string {
  const doc = parseDocument(text, { customTags: [secretTag] });
  let values: unknown;
  try {
    values = doc.toJS();
  } catch {
    return text; // Cannot expand (an alias bomb): nothing to show as data; `validate` explains.
  }
  const inline: unknown[] = [];
  const replace = (path: PropertyKey[], shown: string) => {
    const node = doc.getIn(path, true);
    if (isScalar(node)) node.value = shown;
    else doc.setIn(path, shown);
  };
  mapSecrets(values, configSchema, (value, kind, path) => {
    const node = doc.getIn(path, true);
    if (isScalar(node) && node.tag === secretTag.tag) return value;
    if (typeof value === 'string' && (ONLY_REFERENCES.test(value) || value.trim() === '')) return value;
    if (kind === 'url' && typeof value === 'string') {
      const password = urlPassword(value);
      if (password !== undefined && password !== '' && !ONLY_REFERENCES.test(password)) {
        inline.push(password);
        replace(path, redactUrl(value));
      }
      return value;
    }
    inline.push(value);
    replace(path, REDACTED);
    return value;
  });
  if (inline.length === 0) return text;
  return new Redactor(inline).scrub(doc.toString());
}
