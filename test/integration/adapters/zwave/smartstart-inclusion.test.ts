import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinarySwitchCCSet, Security2CCKEXFail, Security2CCMessageEncapsulation } from '@zwave-js/cc';
import { CommandClasses, SecurityClass, SecurityManager2 } from '@zwave-js/core';
import { ccCaps, MockZWaveFrameType, type MockNode, type NodePendingInclusion } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { labelledKeyPair } from '../../../fakes/zwave/s2-keys.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// SmartStart inclusion itself through the real Driver: a device on the provisioning list is powered up,
// the listening controller reports its NWI home id, zwave-js includes it by its DSK and runs S2 bootstrapping
// with the mock node's own S2 behaviours, checking the node's public key against the listed DSK.

const HOME = 0x7e57000e;
const KEYS = {
  s2Unauthenticated: '44444444444444444444444444444444',
  s2Authenticated: '55555555555555555555555555555555',
  s2AccessControl: '66666666666666666666666666666666',
};

describe('SmartStart inclusion against a mock stick', () => {
  let stick: MockStick;
  let adapter: Adapter;
  let ctx: RecordingContext;
  /** Nodes that received a KEX Fail from the controller. */
  const refused = new Set<number>();
  /** The mock nodes the controller included, by node id. */
  const joined = new Map<number, MockNode>();

  function smartStartNode(
    id: number,
    label: Awaited<ReturnType<typeof labelledKeyPair>>,
  ): NodePendingInclusion {
    return {
      id,
      capabilities: {
        securityClasses: new Set([SecurityClass.S2_Authenticated]),
        commandClasses: [
          CommandClasses.Version,
          CommandClasses['Manufacturer Specific'],
          CommandClasses['Security 2'],
          ccCaps({
            ccId: CommandClasses['Binary Switch'],
            isSupported: true,
            version: 2,
            defaultValue: false,
          }),
        ],
      },
      setup: (node) => {
        node.ecdhKeyPair = label.keyPair;
        joined.set(node.id, node);
        node.defineBehavior({
          handleCC: (_controller, self, received) => {
            if (received instanceof Security2CCKEXFail) refused.add(self.id);
            return undefined;
          },
        });
      },
    };
  }

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: HOME });
    // The mock radio shares the network keys, as the nodes' side of the S2 channel needs them.
    const sm2 = await SecurityManager2.create();
    await sm2.setKey(SecurityClass.S2_Unauthenticated, Buffer.from(KEYS.s2Unauthenticated, 'hex'));
    await sm2.setKey(SecurityClass.S2_Authenticated, Buffer.from(KEYS.s2Authenticated, 'hex'));
    await sm2.setKey(SecurityClass.S2_AccessControl, Buffer.from(KEYS.s2AccessControl, 'hex'));
    stick.controller.securityManagers.securityManager2 = sm2;
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(zwaveOptions(stick.url, { securityKeys: KEYS }));
    await adapter.start(ctx);
    await until(() => ctx.statuses.some((s) => s.state === 'running'), 'the driver');
  }, 60_000);

  afterAll(async () => {
    await adapter?.stop();
    await stick?.close();
  });

  it('ignores a SmartStart device while nothing is on the list (the controller is not listening)', async () => {
    const label = await labelledKeyPair();
    expect(await stick.powerUpSmartStart(smartStartNode(5, label), label.dsk)).toBe('ignored');
  });

  it('includes a listed device by itself when it is powered up, securely, and shows it on the list', async () => {
    const label = await labelledKeyPair();
    await adapter.provision!(label.dsk);
    await until(() => stick.isSmartStartListening, 'SmartStart listening mode at the stick');

    expect(await stick.powerUpSmartStart(smartStartNode(6, label), label.dsk)).toBe('reported');

    const id = `zwave:7e57000e-6`;
    await until(
      () => ctx.devices.get(id)?.capabilities.values.includes('state') === true,
      'the SmartStart node to join and be interviewed over S2',
      60_000,
    );
    expect(refused.has(6)).toBe(false);
    expect(ctx.devices.get(id)?.insecure).toBeUndefined();
    await until(
      () => adapter.provisioned!().some((e) => e.dsk === label.dsk && e.device === id),
      'the entry to name the device it became',
    );
    // Commands to it leave S2-encrypted: the key exchange used the listed DSK.
    const node = joined.get(6)!;
    node.clearReceivedControllerFrames();
    const result = await adapter.execute(
      { id: 'ss-1', device: id, name: 'on', args: {}, origin: 'local', expiresAt: Date.now() + 60_000 },
      new AbortController().signal,
    );
    expect(result.status).toBe('ok');
    node.assertReceivedControllerFrame(
      (f) =>
        f.type === MockZWaveFrameType.Request &&
        f.payload instanceof Security2CCMessageEncapsulation &&
        f.payload.encapsulated instanceof BinarySwitchCCSet,
    );
  }, 90_000);
});
