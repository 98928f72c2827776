import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_LISTED_ISSUES, runConfigValidate } from '../../src/cli/config.js';
import { makeWorkdir } from '../integration/support/daemon.js';
import { forEachLimited, seededFuzz } from './support/fuzz.js';
import { MUTATIONS } from './support/yaml-mutations.js';

/**
 * docs/benchmarks.md asks for a few hundred cases; `RELIABILITY_CONFIG_CASES` changes it, `RELIABILITY_SEED`
 * replays a run.
 */
const CASES = Number(process.env.RELIABILITY_CONFIG_CASES ?? 200);
/**
 * Every case goes through `config validate`'s own code in this process (milliseconds each); every n-th one
 * also through the real CLI processes, `config validate` and `run` (about a second each on a busy 2-core box,
 * so all of them would take minutes). `RELIABILITY_CONFIG_CLI_EVERY=1` sends every case through the processes.
 */
const CLI_EVERY = Number(process.env.RELIABILITY_CONFIG_CLI_EVERY ?? 20);
const CASE_TIMEOUT_MS = 60_000;
/** A refusal is read by a person: a pasted blob must not come back as a megabyte-long line. */
const MAX_LINE_CHARS = 1000;
/** Failing cases are kept here (outside the removed work dir), to replay by hand. */
const FAILURES_DIR = path.join(os.tmpdir(), 'fieldgate-bad-config-failures');
const MAIN = path.resolve('dist/src/main.js');
const EXAMPLE = path.resolve('docs/configuration.example.yaml');
const KEY = '0123456789abcdef0123456789abcdef';
const AZURE = 'HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=c2VjcmV0';

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let env: NodeJS.ProcessEnv;

/**
 * A made-up value for a secret or credential file the example refers to, by its name: others add keys to
 * the example while this suite runs, so the list is read from it. Hex keys are valid base64 too, and long
 * enough for a status page token (16 characters at least).
 */
const valueFor = (name: string) =>
  name.includes('connection-string') ? AZURE : /key|zwave|token/.test(name) ? KEY : 'pw';

/** The example, made valid here: every secret and systemd credential it names exists beside it. */
beforeAll(async () => {
  work = await makeWorkdir();
  const credentials = path.join(work.dir, 'credentials');
  await mkdir(credentials);
  await copyFile(EXAMPLE, path.join(work.dir, 'example.yaml'));
  const example = await readFile(EXAMPLE, 'utf8');
  const secrets = new Set([...example.matchAll(/!secret ([\w-]+)/g)].map((m) => m[1]!));
  await writeFile(
    path.join(work.dir, 'secrets.yaml'),
    [...secrets].map((name) => `${name}: ${valueFor(name)}`).join('\n'),
    { mode: 0o600 },
  );
  for (const [, name] of example.matchAll(/\$\{CREDENTIALS_DIRECTORY\}\/([\w-]+)/g)) {
    await writeFile(path.join(credentials, name!), valueFor(name!), { mode: 0o600 });
  }
  env = { ...process.env, CREDENTIALS_DIRECTORY: credentials, NO_COLOR: '1' };
});

afterAll(async () => {
  await work.cleanup();
});

function runCli(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n(hung: killed after ${CASE_TIMEOUT_MS} ms)`;
    }, CASE_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What is wrong with a refusal, or undefined when it is the clear `file:line:col: message` list. */
function refusalProblem(file: string, result: { code: number | null; stderr: string }): string | undefined {
  if (result.code !== 78) return `exit ${result.code}, not 78`;
  if (/^\s+at /m.test(result.stderr)) return 'a stack trace';
  const longest = Math.max(...result.stderr.split('\n').map((line) => line.length));
  if (longest > MAX_LINE_CHARS) return `a line of ${longest} characters`;
  const lines = result.stderr.trimEnd().split('\n');
  if (lines.length === 0 || lines[0] === '') return 'no message';
  // A long list ends in `FILE: …and N more issues (…)` after the first MAX_LISTED_ISSUES.
  const summary = new RegExp(`^${escape(file)}: …and [1-9]\\d* more issues`);
  if (summary.test(lines.at(-1)!)) {
    if (lines.length !== MAX_LISTED_ISSUES + 1) return `${lines.length - 1} issues listed before the count`;
    lines.pop();
  }
  const unlocated = lines.find((line) => !new RegExp(`^${escape(file)}:[1-9]\\d*:[1-9]\\d*: \\S`).test(line));
  return unlocated === undefined ? undefined : `a line without file:line:col: ${unlocated.slice(0, 200)}`;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

it(`refuses ${CASES} mutated configs with a located error and exit 78, never a stack trace`, async () => {
  const startedAt = Date.now();
  const fuzz = seededFuzz(9);
  const example = await readFile(path.join(work.dir, 'example.yaml'), 'utf8');
  const baseline = await runCli(['config', 'validate', path.join(work.dir, 'example.yaml')]);
  expect(baseline, `the unmutated example must be valid:\n${baseline.stderr}`).toMatchObject({ code: 0 });

  const cases = Array.from({ length: CASES }, (_, index) => {
    const mutation = MUTATIONS[index % MUTATIONS.length]!;
    let text: string | Buffer = example;
    // Most cases break one thing; some break several, the way a bad merge does.
    for (let n = fuzz.chance(0.25) ? fuzz.int(2, 4) : 1; n > 0; n--) {
      text = (n === 1 ? mutation : fuzz.pick(MUTATIONS)).apply(text.toString('utf8'), fuzz);
    }
    return { index, kind: mutation.kind, text, viaCli: fuzz.chance(1 / CLI_EVERY) };
  });

  const tally = new Map<string, { refused: number; accepted: number; byCli: number }>();
  const failures: string[] = [];
  const fail = async (index: number, text: string | Buffer, why: string) => {
    await mkdir(FAILURES_DIR, { recursive: true });
    const kept = path.join(FAILURES_DIR, `seed-${fuzz.seed}-case-${index}.yaml`);
    await writeFile(kept, text);
    failures.push(`${why} (kept as ${kept})`);
  };
  let longestOutput = 0;
  let capped = 0;
  const validateInProcess = async (file: string) => {
    let stderr = '';
    const io = { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) }, env };
    return { code: await runConfigValidate(file, {}, io), stderr };
  };
  await forEachLimited(cases, 2, async ({ index, kind, text, viaCli }) => {
    const file = path.join(work.dir, `case-${index}.yaml`);
    await writeFile(file, text);
    const counts = tally.get(kind) ?? { refused: 0, accepted: 0, byCli: 0 };
    tally.set(kind, counts);
    const validated = await validateInProcess(file);
    if (validated.code === 0) {
      // A deletion of an optional key, a value swapped for one just as valid: nothing to refuse.
      counts.accepted++;
      return;
    }
    const problem = refusalProblem(file, validated);
    if (problem !== undefined) {
      await fail(
        index,
        text,
        `case ${index} (${kind}): validate gave ${problem}\n${validated.stderr.slice(0, 600)}`,
      );
      return;
    }
    counts.refused++;
    longestOutput = Math.max(longestOutput, validated.stderr.length);
    if (validated.stderr.includes('more issues (--json')) capped++;
    if (!viaCli) return;
    for (const args of [
      ['config', 'validate', file],
      ['run', '--config', file],
    ]) {
      const cli = await runCli(args);
      const cliProblem = refusalProblem(file, cli);
      if (cliProblem !== undefined) {
        await fail(
          index,
          text,
          `case ${index} (${kind}): ${args[0]} gave ${cliProblem}\n${cli.stderr.slice(0, 600)}`,
        );
        return;
      }
    }
    counts.byCli++;
  });

  console.log(
    `bad config (seed ${fuzz.seed}): ${CASES} mutants of the example, ${failures.length} failures, ` +
      `longest refusal ${longestOutput} characters (${capped} lists cut at ${MAX_LISTED_ISSUES}), ` +
      `${((Date.now() - startedAt) / 1000).toFixed(0)} s\n` +
      [...tally]
        .map(
          ([kind, c]) =>
            `  ${kind}: ${c.refused} refused at file:line:col (${c.byCli} also by the CLI's validate and run), ` +
            `${c.accepted} still valid`,
        )
        .join('\n'),
  );
  expect(failures).toEqual([]);
});
