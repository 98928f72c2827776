import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adapterOptionsSchemas, knownAdapterTypes } from '../../../adapters/registry.js';
import { loadConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';
import { childSchema, isRecord, objectKeys } from '../../../src/config/schema-keys.js';
import { makeConfigDir, type ConfigDir } from './config-dir.js';
import { mqttUpstreamOf, simAdapterOf } from './narrow.js';

const CONFIG_DIR = path.resolve(import.meta.dirname, '../../../config');
const EXAMPLE = path.resolve(import.meta.dirname, '../../../docs/configuration.example.yaml');
type Schema = typeof configSchema;

/** Every key path the schema accepts; a user-named record entry is `*`. */
function schemaPaths(schema: Schema, prefix: string): string[] {
  if (isRecord(schema)) {
    const value = childSchema(schema, '*') as Schema;
    return [`${prefix}.*`, ...schemaPaths(value, `${prefix}.*`)];
  }
  return (objectKeys(schema) ?? []).flatMap((key) => {
    const keyPath = prefix === '' ? key : `${prefix}.${key}`;
    return [keyPath, ...schemaPaths(childSchema(schema, key) as Schema, keyPath)];
  });
}

/** Every key path written in a document, with record entries as `*` as in `schemaPaths`. */
function documentPaths(value: unknown, schema: Schema | undefined, prefix: string): string[] {
  if (schema === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const keyPath = `${prefix === '' ? '' : `${prefix}.`}${isRecord(schema) ? '*' : key}`;
    return [keyPath, ...documentPaths(child, childSchema(schema, key) as Schema | undefined, keyPath)];
  });
}

describe('docs/configuration.example.yaml', () => {
  let dir: ConfigDir;
  beforeEach(async () => {
    dir = await makeConfigDir();
  });
  afterEach(() => dir.remove());

  it('shows every key of the schema', async () => {
    const example: unknown = parse(await readFile(EXAMPLE, 'utf8'), {
      customTags: [{ tag: '!secret', resolve: (name: string) => name }],
    });
    const written = new Set(documentPaths(example, configSchema, ''));
    const missing = schemaPaths(configSchema, '').filter((keyPath) => !written.has(keyPath));
    expect(missing).toEqual([]);
  });

  it('points editors at the generated JSON schema', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../config/fieldgate.schema.json');
  });

  it('validates, given the secret and the credential file it refers to', async () => {
    const file = path.join(dir.dir, 'fieldgate.yaml');
    await copyFile(EXAMPLE, file);
    await dir.write(
      'secrets.yaml',
      [
        'broker-password: example-password',
        'web-token: example-web-token-0123456789',
        'azure-connection-string: HostName=myhub.azure-devices.net;DeviceId=pi-barn-01',
        'azure-device-key: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
        'azure-group-key: Z3JvdXAta2V5LWZvci10ZXN0cy1vbmx5LTAwMDAwMDM=',
        'barn-door-key: b3duLWtleQ==',
        'greenhouse-bindkey: 231d39c1d7cc1ab1aee224cd096db932',
        'hall-sensor-bindkey: e9ea895fac7cca6d30532432a516f3a8',
        'zigbee-network-key: 01030507090b0d0f00020406080a0c0d',
        'zwave-s0: 0102030405060708090a0b0c0d0e0f10',
        'zwave-s2-unauthenticated: 1102030405060708090a0b0c0d0e0f10',
        'zwave-s2-authenticated: 2102030405060708090a0b0c0d0e0f10',
        'zwave-s2-access-control: 3102030405060708090a0b0c0d0e0f10',
        'zwave-lr-s2-authenticated: 4102030405060708090a0b0c0d0e0f10',
        'zwave-lr-s2-access-control: 5102030405060708090a0b0c0d0e0f10',
        '',
      ].join('\n'),
    );
    await mkdir(path.join(dir.dir, 'credentials'));
    await dir.write('credentials/backup-password', 'backup-secret\n');
    await dir.write('credentials/azure-key', 'cG9saWN5LXNlY3JldC1rZXktbWF0ZXJpYWwtMzJieXRl\n');
    await dir.write('credentials/azure-group-key', 'Z3JvdXAta2V5LWZvci10ZXN0cy1vbmx5LTAwMDAwMDM=\n');
    await dir.write(
      'credentials/azure-connection-string',
      'HostName=spare.azure-devices.net;DeviceId=pi-barn-01\n',
    );
    const { config } = await loadConfig(file, {
      env: { CREDENTIALS_DIRECTORY: path.join(dir.dir, 'credentials') },
    });
    expect(mqttUpstreamOf(config, 'cloud').password).toBe('example-password');
    expect(mqttUpstreamOf(config, 'backup').password).toBe('backup-secret');
    // The adapter host hands each radio its options, which the radio's definition parses again: parsing
    // what the config produced must give it back unchanged (normalised MACs, UUIDs and keys stay valid).
    const types = Object.values(config.adapters).map((entry) => entry.type);
    expect(new Set(types)).toEqual(new Set(knownAdapterTypes()));
    for (const { type, enabled: _enabled, ...options } of Object.values(config.adapters)) {
      expect(adapterOptionsSchemas[type].parse(options), type).toEqual(options);
    }
  });
});

describe('config/fieldgate.yaml', () => {
  it('validates as installed, with no secret, no radio, no simulated device and only the local broker', async () => {
    const { config } = await loadConfig(path.join(CONFIG_DIR, 'fieldgate.yaml'), { env: {} });
    expect(config.adapters).toEqual({});
    expect(config.emulators.mqtt.enabled).toBe(false);
    expect(Object.keys(config.routes)).toEqual(['local']);
    expect(mqttUpstreamOf(config, 'local').url).toBe('mqtt://127.0.0.1:1883');
    expect(config.gateway.stateDir).toBe('/var/lib/fieldgate');
  });
});

describe('config/demo.yaml', () => {
  it('validates, with its state beside the file and the local broker enabled', async () => {
    const { config } = await loadConfig(path.join(CONFIG_DIR, 'demo.yaml'), { env: {} });
    expect(config.gateway.id).toBe('demo');
    expect(config.gateway.stateDir).toBe(path.join(CONFIG_DIR, 'state'));
    expect(config.emulators.mqtt).toEqual({ enabled: true, host: '127.0.0.1', port: 1883 });
    expect(mqttUpstreamOf(config, 'local').url).toBe('mqtt://127.0.0.1:1883');
    expect(simAdapterOf(config, 'sim').fleet).toEqual({ climate: 4, switch: 2, contact: 2, sleepy: 2 });
  });
});
