import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigShow, runConfigValidate, type CommandIo } from '../../../src/cli/config.js';
import { renderStatus } from '../../../src/cli/status.js';
import { formatPath } from '../../../src/config/issues.js';
import { loadConfig, type LoadedConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';
import { scalarFields, secretFields } from '../../../src/config/secret-fields.js';
import { errorMessage } from '../../../src/errors.js';
import { buildStatus, type StatusInputs } from '../../../src/health/status.js';
import { secretKeyNames } from '../../../src/config/redact.js';
import { lineFormatter } from '../../../src/log-format.js';
import { createLogger } from '../../../src/logger.js';
import { statusLine } from '../../../src/ops/status-line.js';
import { GatewayTwin, type TwinChannel } from '../../../src/upstream/azure/gateway-twin.js';
import { leaks, makeSecretFixture, type SecretFixture, type SupplyRoute } from './secret-fixture.js';

/**
 * Every secret-bearing key of the schema, set to a distinctive value through every supply route, rendered
 * through every output path built from the config: no secret may show, in any form.
 */

/** Keys whose name looks like a secret's but that hold none, and why. */
const NOT_SECRETS: Record<string, string> = {
  keyFile: 'a path to a PEM file; the key is read from it by the TLS loader, never printed',
  passwordFile: 'a path; the file’s contents become password (marked)',
  tokenFile: 'a path; the contents become the status page token (marked)',
  groupKeyFile: 'a path; the contents become groupKey (marked)',
  connectionStringFile: 'a path; the contents become connectionString (marked)',
  sharedAccessKeyFile: 'a path; the contents become sharedAccessKey (marked)',
  sharedAccessKeyName: 'the name of a hub policy, such as `device`',
  tokenTtlS: 'a lifetime in seconds',
  tokenRenewBeforeS: 'a duration in seconds',
};

const LOOKS_SECRET = /password|token|key|secret/i;

describe('the schema marks every secret', () => {
  it('marks each key whose name says password, token, key or secret, unless it is known not to be one', () => {
    const unmarked = scalarFields(configSchema)
      .filter(({ path, kind }) => kind === undefined && LOOKS_SECRET.test(path.at(-1)!))
      .map(({ path }) => path.join('.'))
      .filter((path) => !(path.split('.').at(-1)! in NOT_SECRETS));
    expect(unmarked).toEqual([]);
  });

  it('knows the secrets the attack found', () => {
    const marked = secretFields(configSchema).map((field) => `${field.path.join('.')} (${field.kind})`);
    expect(marked).toEqual(
      expect.arrayContaining([
        'routes.*.upstream.password (value)',
        'routes.*.upstream.url (url)',
        'routes.*.upstream.connectionString (value)',
        'routes.*.upstream.sharedAccessKey (value)',
        'routes.*.upstream.groupKey (value)',
        'routes.*.upstream.leaves.*.sharedAccessKey (value)',
        'adapters.*.networkKey (value)',
        'adapters.*.securityKeys.s0Legacy (value)',
        'adapters.*.securityKeys.s2AccessControl (value)',
        'adapters.*.securityKeysLongRange.s2Authenticated (value)',
        'adapters.*.devices.[].bindkey (value)',
      ]),
    );
  });
});

const ROUTES: SupplyRoute[] = ['inline', 'secret', 'file', 'env'];

describe.each(ROUTES)('secrets supplied %s', (route) => {
  let fixture: SecretFixture;
  let loaded: LoadedConfig;
  beforeAll(async () => {
    fixture = await makeSecretFixture(route);
    loaded = await loadConfig(fixture.file, { env: fixture.env });
  });
  afterAll(() => fixture.remove());

  it('places a value at every secret key of the schema', () => {
    expect(fixture.unplaced).toEqual([]);
    expect(fixture.placed.length).toBe(secretFields(configSchema).length);
  });

  it('config show, as written and --effective, in YAML and JSON', async () => {
    const outputs: string[] = [];
    for (const options of [{}, { json: true }, { effective: true }, { effective: true, json: true }]) {
      const io = captureIo(fixture);
      expect(await runConfigShow({ ...options, config: fixture.file }, io)).toBe(0);
      outputs.push(io.out());
    }
    expect(leaks(outputs.join('\n'), fixture.placed)).toEqual([]);
    // The effective config still shows that each secret is set, and a URL all but its password.
    expect(outputs[2]).toContain('[redacted]');
    expect(outputs[2]).toContain('mqtt://gw-user:[redacted]@127.0.0.1:1');
  });

  it('status, status --json, the systemd STATUS line and the twin report', async () => {
    // A library error quoting a credential (a URL with its password, a key) must not pass through either.
    const quoted = fixture.placed.map((item) => item.written).join(' ');
    const status = buildStatus(statusInputs(loaded, quoted));
    const twinPatches: unknown[] = [];
    const channel: TwinChannel = {
      get: () => Promise.resolve({ desired: { $version: 1 }, reported: {} }),
      patchReported: (patch) => {
        twinPatches.push(patch);
        return Promise.resolve();
      },
    };
    const twin = new GatewayTwin({
      status: () => buildStatus(statusInputs(loaded, quoted)),
      reportIntervalS: 60,
      log: createLogger({ level: 'silent' }),
    });
    await twin.attach(channel);
    twin.detach();
    expect(twinPatches).toHaveLength(1);
    const rendered = [
      JSON.stringify(status),
      renderStatus(status, 1_000),
      statusLine(status),
      JSON.stringify(twinPatches),
    ].join('\n');
    expect(status.problems.join('\n')).toContain('[redacted]');
    expect(leaks(rendered, fixture.placed)).toEqual([]);
  });

  it('log lines: the config, an error quoting it, and a config key name logged as `key`', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    // As the daemon builds its logger: scrub by value, censor the schema's secret keys by name.
    const log = createLogger({
      level: 'debug',
      destination,
      redactor: loaded.redactor,
      secretFieldNames: secretKeyNames(),
    });
    const quoted = fixture.placed.map((item) => item.written).join(' ');
    log.info({ config: loaded.config }, 'Starting with this configuration.');
    log.info({ upstream: loaded.config.routes['mqtt']?.upstream }, 'Route configured.');
    log.error({ err: new Error(`connect failed: ${quoted}`) }, `Upstream refused ${quoted}`);
    log.warn({ key: 'queue.maxBytes' }, 'Restart required: queue.maxBytes changed.');
    const output = lines.join('');
    expect(leaks(output, fixture.placed)).toEqual([]);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    // A config key's name is not a secret: it stays readable.
    expect(output).toContain('"key":"queue.maxBytes"');
  });

  it.each(['pretty', 'journal'] as const)('log lines written in the %s format', async (format) => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({
      level: 'debug',
      destination,
      redactor: loaded.redactor,
      secretFieldNames: secretKeyNames(),
      format: await lineFormatter(format),
    });
    const quoted = fixture.placed.map((item) => item.written).join(' ');
    log.info({ config: loaded.config }, 'Starting with this configuration.');
    log.error({ err: new Error(`connect failed: ${quoted}`) }, `Upstream refused ${quoted}`);
    log.warn({ key: 'queue.maxBytes' }, 'Restart required: queue.maxBytes changed.');
    const output = lines.join('');
    expect(leaks(output, fixture.placed)).toEqual([]);
    expect(output).toContain('key=queue.maxBytes');
  });
});

describe.each(['inline', 'secret', 'env'] as SupplyRoute[])('invalid secrets supplied %s', (route) => {
  let fixture: SecretFixture;
  beforeAll(async () => {
    fixture = await makeSecretFixture(route, 'invalid');
  });
  afterAll(() => fixture.remove());

  it('config validate, --json, the error the daemon prints, and status after a failed reload', async () => {
    const text = captureIo(fixture);
    expect(await runConfigValidate(fixture.file, {}, text)).toBe(78);
    const json = captureIo(fixture);
    expect(await runConfigValidate(fixture.file, { json: true }, json)).toBe(78);
    const effective = captureIo(fixture);
    expect(await runConfigShow({ effective: true, config: fixture.file }, effective)).toBe(78);
    let thrown: unknown;
    try {
      await loadConfig(fixture.file, { env: fixture.env });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error);
    const valid = await makeSecretFixture(route);
    try {
      const loaded = await loadConfig(valid.file, { env: valid.env });
      const status = buildStatus({
        ...statusInputs(loaded, ''),
        reload: { at: 0, applied: [], restartRequired: [], error: errorMessage(thrown) },
      });
      const rendered = [
        text.err(),
        json.out(),
        effective.err(),
        errorMessage(thrown),
        JSON.stringify(status),
        renderStatus(status, 0),
      ].join('\n');
      expect(leaks(rendered, fixture.placed)).toEqual([]);
      // Every secret key is reported, by its path (or its variable).
      for (const item of fixture.placed) expect(text.err()).toContain(formatPath(item.path));
    } finally {
      await valid.remove();
    }
  });
});

function captureIo(fixture: SecretFixture): CommandIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: fixture.env,
    out: () => out,
    err: () => err,
  };
}

function statusInputs(loaded: LoadedConfig, quoted: string): StatusInputs {
  return {
    gatewayId: 'secret-test',
    version: '0.0.0',
    startedAt: 0,
    now: 1_000,
    adapters: [
      {
        name: 'zigbee',
        type: 'zigbee',
        state: 'degraded',
        since: 0,
        readings: 0,
        detail: `cannot open ${quoted}`,
      },
    ],
    routes: Object.keys(loaded.config.routes).map((name) => ({
      name,
      forwarder: {
        route: name,
        state: 'backoff',
        lastError: `connect failed: ${quoted}`,
        offlineSince: 0,
        sentMessages: 0,
        sentReadings: 0,
        failures: 1,
        rejected: 0,
      },
      queue: {
        depth: 0,
        bytes: 0,
        inFlight: 0,
        oldestAgeMs: 0,
        dropped: { quota: 0, diskFull: 0, ttl: 0, rejected: 0, writeFailed: 0 },
        deadLetters: 0,
        appended: 0,
        acked: 0,
        nextSeq: 0,
      },
      drainEtaS: 0,
    })),
    quarantine: undefined,
    storageBytes: 0,
    storageWrites: { state: 'ok' },
    devices: { online: 0, offline: 0, asleep: 0, unknown: 0 },
    commands: undefined,
    pipeline: undefined,
    reload: undefined,
    livenessProblem: undefined,
    redactor: loaded.redactor,
  };
}
