import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DoorLockCCOperationSet,
  DoorLockMode,
  DoorLockOperationType,
  Security2CCMessageEncapsulation,
} from '@zwave-js/cc';
import {
  CommandClasses,
  dskToString,
  generateECDHKeyPair,
  SecurityClass,
  SecurityManager2,
} from '@zwave-js/core';
import { ccCaps, MockZWaveFrameType, type MockNode } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// Network keys when none are configured: generated at the first start, kept private in the adapter's state
// dir, never logged, reused at the next start; and with them an S2 Access Control lock joins securely and
// its commands leave encrypted.

const HOME = 0x7e570008;
const LOCK = 'zwave:7e570008-6';

interface StoredKeys {
  securityKeys: Record<string, string>;
  securityKeysLongRange: Record<string, string>;
}

describe('Z-Wave network keys generated on first start', () => {
  let stick: MockStick | undefined;
  let stateDir: string;
  let adapter: Adapter | undefined;
  const contexts: RecordingContext[] = [];
  const file = () => path.join(stateDir, 'security-keys.json');
  const readKeys = async () => JSON.parse(await fs.readFile(file(), 'utf8')) as StoredKeys;

  /** A fresh adapter on a fresh stick of the same network, over the same state dir (a restart). */
  async function start(options: Record<string, unknown> = {}): Promise<RecordingContext> {
    await adapter?.stop();
    // A new mock controller per run: the old one would go on calling a host that has gone.
    await stick?.close();
    stick = await MockStick.start({ homeId: HOME });
    const ctx = await recordingContext('zwave', stateDir);
    contexts.push(ctx);
    adapter = zwaveDefinition.create(zwaveOptions(stick.url, options));
    await adapter.start(ctx);
    await until(() => ctx.state === 'running', 'the driver');
    // As in the adapter contract: a stop() landing in the driver's exchange with the controller right after
    // "driver ready" leaves the mock controller calling a host that has gone. Let that exchange finish.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return ctx;
  }

  beforeAll(async () => {
    stateDir = (await recordingContext()).stateDir;
  });

  afterAll(async () => {
    await adapter?.stop();
    await stick?.close();
  });

  it('generates every key zwave-js takes, in a 0600 file, and logs none of them', async () => {
    const ctx = await start();
    const stat = await fs.stat(file());
    expect(stat.mode & 0o777).toBe(0o600);
    const keys = await readKeys();
    expect(Object.keys(keys.securityKeys).sort()).toEqual([
      's0Legacy',
      's2AccessControl',
      's2Authenticated',
      's2Unauthenticated',
    ]);
    expect(Object.keys(keys.securityKeysLongRange).sort()).toEqual(['s2AccessControl', 's2Authenticated']);
    const all = [...Object.values(keys.securityKeys), ...Object.values(keys.securityKeysLongRange)];
    for (const key of all) expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(all).size).toBe(6);
    const log = JSON.stringify(ctx.logLines).toLowerCase();
    for (const key of all) expect(log).not.toContain(key);
  });

  it('reuses the stored keys at the next start', async () => {
    const before = await fs.readFile(file(), 'utf8');
    const ctx = await start();
    expect(await fs.readFile(file(), 'utf8')).toBe(before);
    expect(ctx.logLines.some((l) => String(l.msg).includes('generated'))).toBe(false);
  });

  it('uses a configured key over the stored one, warns by name only, and keeps the stored one', async () => {
    const before = await fs.readFile(file(), 'utf8');
    const configured = 'abcdefabcdefabcdefabcdefabcdef12';
    const ctx = await start({ securityKeys: { s2AccessControl: configured } });
    const warning = ctx.logLines.find((l) => String(l.msg).includes('differ from the stored'));
    expect(warning).toMatchObject({ keys: ['securityKeys.s2AccessControl'] });
    expect(JSON.stringify(ctx.logLines).toLowerCase()).not.toContain(configured);
    expect(await fs.readFile(file(), 'utf8')).toBe(before);
  });

  it('includes an S2 Access Control lock securely with the generated keys; its lock command leaves encrypted', async () => {
    const ctx = await start();
    const keys = await readKeys();
    // The mock radio shares the network keys, as the node's side of the S2 channel needs them.
    const sm2 = await SecurityManager2.create();
    await sm2.setKey(
      SecurityClass.S2_Unauthenticated,
      Buffer.from(keys.securityKeys.s2Unauthenticated!, 'hex'),
    );
    await sm2.setKey(SecurityClass.S2_Authenticated, Buffer.from(keys.securityKeys.s2Authenticated!, 'hex'));
    await sm2.setKey(SecurityClass.S2_AccessControl, Buffer.from(keys.securityKeys.s2AccessControl!, 'hex'));
    stick!.controller.securityManagers.securityManager2 = sm2;
    const keyPair = await generateECDHKeyPair();
    const dsk = dskToString(keyPair.publicKey.slice(0, 16));
    let lock: MockNode | undefined;
    stick!.joinOnNextInclusion({
      id: 6,
      capabilities: {
        securityClasses: new Set([SecurityClass.S2_AccessControl]),
        commandClasses: [
          CommandClasses.Version,
          CommandClasses['Manufacturer Specific'],
          CommandClasses['Security 2'],
          ccCaps({
            ccId: CommandClasses['Door Lock'],
            isSupported: true,
            secure: true,
            version: 4,
            supportedOperationTypes: [DoorLockOperationType.Constant],
            supportedDoorLockModes: [DoorLockMode.Unsecured, DoorLockMode.Secured],
          }),
        ],
      },
      setup: (node) => {
        node.ecdhKeyPair = keyPair;
        lock = node;
      },
    });
    await adapter!.permitJoin?.(60, { dsk });
    await until(
      () => ctx.devices.get(LOCK)?.capabilities.values.includes('locked') === true,
      'the lock interview',
      60_000,
    );
    await adapter!.permitJoin?.(0);
    expect(ctx.devices.get(LOCK)?.insecure).toBeUndefined();

    lock!.clearReceivedControllerFrames();
    const result = await adapter!.execute(
      { id: 'lock-1', device: LOCK, name: 'lock', args: {}, origin: 'local', expiresAt: Date.now() + 60_000 },
      new AbortController().signal,
    );
    expect(result.status).toBe('ok');
    lock!.assertReceivedControllerFrame(
      (f) =>
        f.type === MockZWaveFrameType.Request &&
        f.payload instanceof Security2CCMessageEncapsulation &&
        f.payload.encapsulated instanceof DoorLockCCOperationSet,
    );
  }, 120_000);
});
