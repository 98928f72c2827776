import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeWorkdir, runCli, waitFor } from './support/daemon.js';

/**
 * The README is what a newcomer types. These tests run its quick start as written (the demo on a free port
 * instead of 1883, through the config's environment overrides) and check that every verb it and the CLI
 * reference name exists.
 */

const README = readFileSync('README.md', 'utf8');

/** The text of the `## title` section, up to the next `## `. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no section "## ${title}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The commands of the `sh` blocks of some Markdown: comments dropped, `\` continuations joined. */
function shellCommands(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((block) =>
    block[1]!
      .split('\n')
      .map((line) => line.replace(/\s+#\s.*$/, '').trimEnd())
      .join('\n')
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== ''),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs a shell command line as a user would, in `cwd`. */
function shell(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): Run {
  // `exec` keeps the pid: SIGTERM reaches the program, not the shell.
  const child = spawn('bash', ['-c', `exec ${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const running: Run[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const run of running.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
    await run.exited;
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('README', () => {
  it('the quick start runs as written: the demo starts, the subscriber sees batches, status and send exit 0', async () => {
    const quickStart = section(README, 'Quick start');
    const [first, ...second] = shellCommands(quickStart);
    expect(first).toBe('npm ci && npm start');
    // `npm start` is the build, then the demo: run the demo the same way.
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
      .scripts.start;
    const demo = /^npm run build && (node dist\/src\/main\.js run --config config\/demo\.yaml)$/.exec(
      start ?? '',
    );
    expect(demo, `package.json's start script: ${start}`).not.toBeNull();

    // A copy of the checkout's demo: its state goes to config/state beside the config, as in the README.
    const { dir, cleanup } = await makeWorkdir();
    cleanups.push(cleanup);
    await mkdir(path.join(dir, 'config'));
    await copyFile('config/demo.yaml', path.join(dir, 'config/demo.yaml'));
    await symlink(path.resolve('dist'), path.join(dir, 'dist'));
    const port = await freePort();
    const webPort = await freePort();
    const env = {
      ...process.env,
      FIELDGATE__EMULATORS__MQTT__PORT: String(port),
      FIELDGATE__ROUTES__LOCAL__UPSTREAM__URL: `mqtt://127.0.0.1:${port}`,
      FIELDGATE__WEB__LISTEN: `127.0.0.1:${webPort}`,
    };
    const daemon = shell(demo![1]!, dir, env);
    running.push(daemon);
    await waitFor(
      () => daemon.output().includes('fieldgate started.'),
      `the demo to start:\n${daemon.output()}`,
      60_000,
      () => (daemon.child.exitCode !== null ? `the demo exited early:\n${daemon.output()}` : undefined),
    );

    expect(second.length, 'the quick start shows commands to try').toBeGreaterThan(0);
    let subscriber: Run | undefined;
    for (const command of second) {
      if (command.startsWith('npx mqtt sub ')) {
        // From the repository root, where npx finds the mqtt package's own command.
        subscriber = shell(`${command} -p ${port}`, process.cwd());
        running.push(subscriber);
        const sub = subscriber;
        await waitFor(
          () => sub.output().includes('fieldgate/demo/telemetry {'),
          `a telemetry batch on the subscriber:\n${sub.output()}`,
          60_000,
        );
      } else if (command.startsWith('npx mqtt pub ')) {
        const pub = shell(`${command} -p ${port}`, process.cwd());
        expect(await pub.exited, `${command}\n${pub.output()}`).toBe(0);
        const id = /"id":"([^"]+)"/.exec(command)?.[1];
        expect(id, `the published command has an id: ${command}`).toBeDefined();
        const sub = subscriber;
        expect(sub, 'the quick start subscribes before it publishes').toBeDefined();
        await waitFor(
          () => sub!.output().includes(`fieldgate/demo/results {"id":"${id}"`),
          `the result of command ${id}:\n${sub!.output()}`,
          60_000,
        );
      } else if (command.startsWith('node dist/src/main.js ')) {
        // `top` is interactive; without a terminal it prints one frame with --once.
        const run = shell(/ top /.test(command) ? `${command} --once` : command, dir, process.env);
        expect(await run.exited, `${command}\n${run.output()}`).toBe(0);
      } else {
        throw new Error(`the quick start has a command this test does not know how to run: ${command}`);
      }
    }

    // The status page the quick start points at answers (on the test's port instead of 9465).
    expect(README).toContain('http://127.0.0.1:9465/');
    const page = await fetch(`http://127.0.0.1:${webPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited, daemon.output()).toBe(0);
  });

  it('the test command is the one CI relies on: install, test dependencies, tests', () => {
    const commands = shellCommands(section(README, 'Tests'));
    expect(commands).toContain('npm ci && npm run test:deps && npm test');
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['test:deps', 'test', 'start']));
  });

  it('every verb the README and the docs name exists, and docs/cli.md lists every verb', async () => {
    const commandsIn = (help: string) =>
      [...(/\nCommands:\n([\s\S]*?)(\n\n|$)/.exec(help)?.[1] ?? '').matchAll(/^ {2}([a-z][a-z-]*)/gm)]
        .map((m) => m[1]!)
        .filter((verb) => verb !== 'help');
    const top = await runCli(['--help']);
    expect(top.code, top.stderr).toBe(0);
    const verbs = commandsIn(top.stdout);
    expect(verbs).toContain('run');
    const subVerbs = new Map<string, string[]>();
    for (const verb of verbs) {
      const help = await runCli([verb, '--help']);
      expect(help.code, help.stderr).toBe(0);
      subVerbs.set(verb, commandsIn(help.stdout));
    }

    const named: string[] = [];
    for (const file of ['README.md', 'docs/cli.md', 'docs/install.md']) {
      const markdown = readFileSync(file, 'utf8');
      // Only code (inline and blocks) is a command line; prose says "fieldgate keeps …".
      const code = [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```|`([^`\n]+)`/gm)].map(
        (m) => m[1] ?? m[2]!,
      );
      for (const text of code)
        for (const m of text.matchAll(
          /(?:^|[\s(])(?:fieldgate|node dist\/src\/main\.js) ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g,
        )) {
          const [verb, sub] = [m[1]!, m[2]];
          named.push(`${file}: ${verb}`);
          expect(verbs, `${file} names "${m[0].trim()}"`).toContain(verb);
          const subs = subVerbs.get(verb) ?? [];
          if (sub !== undefined && subs.length > 0)
            expect(subs, `${file} names "${m[0].trim()}"`).toContain(sub);
        }
    }
    expect(named.filter((n) => n.startsWith('README.md'))).not.toEqual([]);

    const reference = readFileSync('docs/cli.md', 'utf8');
    for (const verb of verbs) expect(reference, `docs/cli.md lists ${verb}`).toContain(`\`fieldgate ${verb}`);
    for (const [verb, subs] of subVerbs)
      for (const sub of subs)
        if (sub !== 'list')
          expect(reference, `docs/cli.md lists ${verb} ${sub}`).toMatch(
            new RegExp(`\\b${verb}\\b[^\\n]*\\b${sub}\\b`),
          );
  });
});
