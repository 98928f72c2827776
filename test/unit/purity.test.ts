import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `test/unit` is pure (test/README.md): no sockets, no child processes, no emulators. This scans every file
 * under it, and every test helper it imports from `test/`, for what would break that rule, and names the
 * file. LevelDB on a temporary directory is file I/O and allowed.
 */

const SELF = fileURLToPath(import.meta.url);
const TEST_ROOT = path.resolve(path.dirname(SELF), '..');
const UNIT_ROOT = path.join(TEST_ROOT, 'unit');

/** Modules whose import means sockets or processes, and why. */
const FORBIDDEN_MODULES: Record<string, string> = {
  net: 'sockets',
  http: 'sockets',
  https: 'sockets',
  http2: 'sockets',
  tls: 'sockets',
  dgram: 'sockets',
  child_process: 'child processes',
  cluster: 'child processes',
  aedes: 'an MQTT broker',
};

/** Calls that start an emulator or a broker, and why. */
const FORBIDDEN_CALLS: Record<string, string> = {
  'AzureHubEmulator.start(': 'the Azure IoT Hub emulator',
  'startAwsEmulator(': 'the AWS IoT Core emulator',
  'startJobInbox(': 'the AWS IoT Jobs emulator',
  'startMqttBroker(': 'the MQTT broker emulator',
  'startTestCloud(': 'the AWS IoT Core emulator',
  'startGatewayHub(': 'the Azure IoT Hub emulator',
  'startHubWith(': 'the Azure IoT Hub emulator',
  'startMosquittoTls(': 'mosquitto',
  'MockStick.start(': 'a TCP Z-Wave stick',
};

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(full);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [full] : [];
  });
}

/** What in `source` breaks the rule; `relativeImports` collects helpers under test/ to scan as well. */
function offences(source: string, file: string, relativeImports: string[] = []): string[] {
  const found: string[] = [];
  for (const [, specifier] of source.matchAll(IMPORT)) {
    if (specifier === undefined) continue;
    const bare = specifier.replace(/^node:/, '').split('/')[0]!;
    const why = FORBIDDEN_MODULES[bare];
    if (why !== undefined) found.push(`imports '${specifier}' (${why})`);
    if (specifier.startsWith('.')) {
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
      if (target.startsWith(TEST_ROOT + path.sep)) relativeImports.push(target);
    }
  }
  for (const [call, what] of Object.entries(FORBIDDEN_CALLS)) {
    if (source.includes(call)) found.push(`calls ${call.slice(0, -1)} (starts ${what})`);
  }
  return found;
}

/** Every offence of `file` and of the test helpers it reaches, each line naming the file at fault. */
function scan(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return []; // a helper outside the file system's view (a fixture path built at run time)
  }
  const helpers: string[] = [];
  const own = offences(source, file, helpers).map(
    (offence) => `${path.relative(TEST_ROOT, file)}: ${offence}`,
  );
  return [...own, ...helpers.flatMap((helper) => scan(helper, seen))];
}

describe('test/unit is pure', () => {
  it('has no file that opens a socket, spawns a process or starts an emulator', () => {
    // This file names what it looks for; it is the one exception.
    const unitFiles = listFiles(UNIT_ROOT).filter((f) => f !== SELF);
    const found = unitFiles.flatMap((file) => {
      const name = path.relative(TEST_ROOT, file);
      return scan(file).map((line) => (line.startsWith(`${name}: `) ? line : `${name} → ${line}`));
    });
    // Move such a test to test/integration/<same path> (test/README.md).
    expect(found).toEqual([]);
  });

  it.each([
    ["import net from 'node:net';", "imports 'node:net' (sockets)"],
    ["import { createServer } from 'http';", "imports 'http' (sockets)"],
    ["import { spawn } from 'node:child_process';", "imports 'node:child_process' (child processes)"],
    ["const dgram = await import('node:dgram');", "imports 'node:dgram' (sockets)"],
    [
      'const hub = await AzureHubEmulator.start({});',
      'calls AzureHubEmulator.start (starts the Azure IoT Hub emulator)',
    ],
    [
      'const broker = await startMqttBroker({ port: 0 });',
      'calls startMqttBroker (starts the MQTT broker emulator)',
    ],
  ])('catches %s', (source, offence) => {
    expect(offences(source, path.join(UNIT_ROOT, 'x.test.ts'))).toEqual([offence]);
  });

  it('leaves pure imports alone: files, paths, LevelDB, protocol libraries used as values', () => {
    const source = [
      "import { mkdtemp } from 'node:fs/promises';",
      "import path from 'node:path';",
      "import { ClassicLevel } from 'classic-level';",
      "import type { MqttClient } from 'mqtt';",
      "import { network } from '../../src/network-settings.js';",
    ].join('\n');
    expect(offences(source, path.join(UNIT_ROOT, 'x.test.ts'))).toEqual([]);
  });

  it('follows a test helper that opens a socket', () => {
    const helpers: string[] = [];
    offences(
      "import { MockStick } from '../fakes/zwave/mock-stick.js';",
      path.join(UNIT_ROOT, 'x.test.ts'),
      helpers,
    );
    expect(helpers).toEqual([path.join(TEST_ROOT, 'fakes/zwave/mock-stick.ts')]);
    expect(scan(helpers[0]!)).toContain("fakes/zwave/mock-stick.ts: imports 'node:net' (sockets)");
  });
});
