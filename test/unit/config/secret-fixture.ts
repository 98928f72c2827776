import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Document } from 'yaml';
import { ENV_OVERRIDE_PREFIX } from '../../../src/config/env-overrides.js';
import { formatPath } from '../../../src/config/issues.js';
import { configSchema } from '../../../src/config/schema.js';
import { secretFields, type SecretField } from '../../../src/config/secret-fields.js';

/**
 * A config that sets every key the schema marks secret to a distinctive value, through a chosen supply
 * route, so a test can render it through every output path and look for the values. The secret keys come
 * from the schema marks: a new secret key gets a value here without editing this file, as long as BASE
 * has an instance of the mapping it belongs to (a test fails naming the key otherwise).
 */

/** Where each secret's value is written. */
export type SupplyRoute = 'inline' | 'secret' | 'file' | 'env';

/** How each value is made: valid, or invalid so that validation reports the key. */
export type Validity = 'valid' | 'invalid';

/** One instance of every adapter and upstream type; adapters disabled so a daemon needs no radio. */
export function baseConfig(dir: string): Record<string, unknown> {
  return {
    gateway: { id: 'secret-test', stateDir: path.join(dir, 'state') },
    control: { socket: path.join(dir, 'control.sock') },
    // The demo broker's login: username and password go together (the placeholder keeps the base valid;
    // the fixture puts a secret in its place).
    emulators: { mqtt: { enabled: false, username: 'demo-user', password: 'placeholder' } },
    // The status page off, with a token (the fixture puts a secret in its place).
    web: { enabled: false, tokens: [{ name: 'ops', token: 'placeholder-token-0000' }] },
    adapters: {
      ble: { type: 'ble', enabled: false, devices: [{ address: 'c4:7c:8d:6a:12:34' }] },
      zigbee: { type: 'zigbee', enabled: false, coordinator: 'ember', serialPort: '/dev/null-zigbee' },
      zwave: { type: 'zwave', enabled: false, serialPort: '/dev/null-zwave' },
    },
    devices: { 'ble:c4:7c:8d:6a:12:34': { name: 'fridge' } },
    routes: {
      mqtt: {
        upstream: { type: 'mqtt', url: 'mqtt://127.0.0.1:1' },
        backoff: { initialMs: 200, maxMs: 1000 },
      },
      azure: {
        upstream: {
          type: 'azure',
          identity: 'perDevice',
          hostName: 'hub.invalid',
          endpoint: 'mqtt://127.0.0.1:1',
          leaves: { 'sim:leaf': {} },
        },
        backoff: { initialMs: 200, maxMs: 1000 },
      },
    },
  };
}

/** A concrete place of a secret key in the fixture, and the value put there. */
export interface PlacedSecret {
  field: SecretField;
  path: (string | number)[];
  /** What is written in the config, secrets.yaml, file or variable. */
  written: string;
  /** The secret itself: `written`, or for a URL its password. */
  secret: string;
  /** A key written in hex (16 bytes): its byte forms are looked for too. */
  isHex: boolean;
}

export interface SecretFixture {
  dir: string;
  file: string;
  env: NodeJS.ProcessEnv;
  placed: PlacedSecret[];
  /** Secret keys of the schema that BASE has no instance for. */
  unplaced: string[];
  remove(): Promise<void>;
}

const HEX_FIELDS_COLON = new Set(['networkKey']);

/** Writes the fixture (config, secrets.yaml, secret files, env) in a fresh temp dir. */
export async function makeSecretFixture(
  route: SupplyRoute,
  validity: Validity = 'valid',
  extra: Record<string, unknown> = {},
): Promise<SecretFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-secrets-'));
  const config = { ...baseConfig(dir), ...extra };
  const placed: PlacedSecret[] = [];
  const unplaced: string[] = [];
  for (const field of secretFields(configSchema)) {
    const chosen = concretePaths(config, field.path)
      .map((at) => ({ path: at, value: valueFor(field, at, validity, isHexAt(config, at)) }))
      .find(({ path: at }) =>
        acceptsAt(config, at, valueFor(field, at, 'valid', isHexAt(config, at)).written),
      );
    if (chosen === undefined) {
      unplaced.push(field.path.join('.'));
      continue;
    }
    placed.push({ field, path: chosen.path, ...chosen.value, isHex: isHexAt(config, chosen.path) });
  }

  const doc = new Document(config);
  const secrets: string[] = [];
  const env: NodeJS.ProcessEnv = {};
  for (const [index, item] of placed.entries()) {
    const hasIndex = item.path.some((segment) => typeof segment === 'number');
    const fileSibling = fileSiblingOf(item.path);
    const how =
      route === 'file' && fileSibling === undefined
        ? 'secret'
        : route === 'env' && hasIndex
          ? 'inline'
          : route;
    const isInvalidShape = validity === 'invalid' && !item.isHex;
    if (how === 'inline' || isInvalidShape) {
      // Invalid and not a hex key: a mapping where text is expected (validation must not quote it).
      doc.setIn(item.path, isInvalidShape ? { wrong: item.written } : item.written);
    } else if (how === 'secret') {
      const name = `secret-${index}`;
      const node = doc.createNode(name);
      node.tag = '!secret';
      doc.setIn(item.path, node);
      // Digits stay unquoted: secrets.yaml then holds a number, as a user would write it.
      secrets.push(`${name}: ${/^\d+$/.test(item.written) ? item.written : JSON.stringify(item.written)}`);
    } else if (how === 'file') {
      const name = `credential-${index}`;
      await writeFile(path.join(dir, name), `${item.written}\n`, { mode: 0o600 });
      doc.setIn([...item.path.slice(0, -1), fileSibling!], name);
    } else {
      env[`${ENV_OVERRIDE_PREFIX}${item.path.map((s) => String(s).toUpperCase()).join('__')}`] = item.written;
    }
  }
  const file = path.join(dir, 'fieldgate.yaml');
  await writeFile(file, doc.toString(), { mode: 0o600 });
  if (secrets.length > 0) {
    await writeFile(path.join(dir, 'secrets.yaml'), `${secrets.join('\n')}\n`, { mode: 0o600 });
  }
  return { dir, file, env, placed, unplaced, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Every concrete path in `config` that a field pattern (`routes.*.upstream.password`) denotes. */
function concretePaths(config: unknown, pattern: readonly string[]): (string | number)[][] {
  const step = (node: unknown, rest: readonly string[], at: (string | number)[]): (string | number)[][] => {
    if (rest.length === 0) return [at];
    const [head, ...tail] = rest as [string, ...string[]];
    if (head === '[]') return Array.isArray(node) && node.length > 0 ? step(node[0], tail, [...at, 0]) : [];
    if (typeof node !== 'object' || node === null || Array.isArray(node))
      return tail.length === 0 ? [[...at, head]] : [];
    const record = node as Record<string, unknown>;
    if (head === '*') return Object.keys(record).flatMap((key) => step(record[key], tail, [...at, key]));
    return step(record[head] ?? {}, tail, [...at, head]);
  };
  return step(config, pattern, []);
}

/** True when the schema accepts `value` at `at` in `config` (BASE is valid, so any issue is about it). */
function acceptsAt(config: Record<string, unknown>, at: (string | number)[], value: string): boolean {
  const doc = new Document(structuredClone(config));
  doc.setIn(at, value);
  return configSchema.safeParse(doc.toJS()).success;
}

const SAMPLE_KEY_HEX = '000102030405060708090a0b0c0d0e0f';

/**
 * A key that takes 16 bytes in hex and refuses other text (Zigbee, Z-Wave, BLE keys). The text probe is
 * longer than any minimum a text secret sets (a status page token takes 16 characters or more).
 */
function isHexAt(config: Record<string, unknown>, at: (string | number)[]): boolean {
  return !acceptsAt(config, at, 'SECRET-text-that-is-not-hex') && acceptsAt(config, at, SAMPLE_KEY_HEX);
}

/** A distinctive value for the key at `at`: text, or 16 key bytes for a hex key, or a URL with a password. */
function valueFor(
  field: SecretField,
  at: (string | number)[],
  validity: Validity,
  isHex: boolean,
): { written: string; secret: string } {
  const key = String(at.at(-1));
  const tag = at.join('-').replaceAll(/[^A-Za-z0-9-]/g, '');
  const bytes = createHash('sha256')
    .update(tag)
    .digest()
    .subarray(0, validity === 'valid' ? 16 : 15);
  if (field.kind === 'url') {
    const password = `SECRET-${tag}-pw-xyz`;
    return { written: `mqtt://gw-user:${password}@127.0.0.1:1`, secret: password };
  }
  if (isHex) {
    const hex = bytes.toString('hex');
    // The forms the attack used: colon-separated and 0x for the Zigbee key, upper case for the others.
    const written = HEX_FIELDS_COLON.has(key)
      ? [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':')
      : hex.toUpperCase();
    return { written, secret: written };
  }
  if (key === 'password') return { written: '98765432101234', secret: '98765432101234' };
  if (key === 'connectionString') {
    // Its key is the secret part; the test looks for it alone too.
    const sharedAccessKey = `SECRET-${tag}-xyz`;
    return {
      written: `HostName=hub.invalid;DeviceId=secret-test;SharedAccessKey=${sharedAccessKey}`,
      secret: sharedAccessKey,
    };
  }
  const text = `SECRET-${tag}-xyz`;
  return { written: text, secret: text };
}

/** `passwordFile` for `password` when the schema has such a sibling (only at mapping level, not in lists). */
function fileSiblingOf(at: (string | number)[]): string | undefined {
  const key = String(at.at(-1));
  const sibling = `${key}File`;
  const parent = formatPath(at.slice(0, -1));
  const candidates: Record<string, string[]> = {
    password: ['routes.mqtt.upstream'],
    connectionString: ['routes.azure.upstream'],
    sharedAccessKey: ['routes.azure.upstream'],
    groupKey: ['routes.azure.upstream'],
  };
  return candidates[key]?.includes(parent) === true ? sibling : undefined;
}

/** Every form a test looks for: as written, and for key bytes lower/upper hex, colon, 0x, decimal, base64. */
export function formsToFind(secret: string): string[] {
  const forms = new Set([secret]);
  const hex = secret.replace(/^0x/i, '').replaceAll(':', '');
  if (/^([0-9a-f]{2}){8,}$/i.test(hex)) {
    const bytes = [...Buffer.from(hex, 'hex')];
    const lower = hex.toLowerCase();
    for (const form of [
      lower,
      lower.toUpperCase(),
      bytes.map((b) => b.toString(16).padStart(2, '0')).join(':'),
      `0x${lower}`,
      bytes.join(','),
      Buffer.from(bytes).toString('base64'),
    ]) {
      forms.add(form);
    }
  }
  return [...forms];
}

/** The secrets (in any form) found in `text`, as `key path: form` lines; empty when none leaked. */
export function leaks(text: string, placed: readonly PlacedSecret[]): string[] {
  return placed.flatMap((item) =>
    formsToFind(item.secret)
      .filter((form) => text.includes(form))
      .map((form) => `${formatPath(item.path)}: ${form}`),
  );
}
