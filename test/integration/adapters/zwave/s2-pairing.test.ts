import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Security2CCKEXFail } from '@zwave-js/cc';
import { CommandClasses, SecurityClass, SecurityManager2 } from '@zwave-js/core';
import { ccCaps, type MockNode } from '@zwave-js/testing';
import zwaveDefinition from '../../../../adapters/zwave/index.js';
import type { Adapter, PairingSecrets } from '../../../../adapters/adapter.js';
import { zwaveOptions } from '../../../fakes/zwave/adapter-options.js';
import { MockStick } from '../../../fakes/zwave/mock-stick.js';
import { labelledKeyPair } from '../../../fakes/zwave/s2-keys.js';
import { recordingContext, until, type RecordingContext } from '../../../fakes/zwave/recording-context.js';

// S2 Authenticated inclusion through the real Driver: the mock node runs zwave-js's own S2 bootstrapping
// behaviours, so the key exchange, DSK check and network key transfer are the real protocol.

const KEYS = {
  s2Unauthenticated: '11111111111111111111111111111111',
  s2Authenticated: '22222222222222222222222222222222',
  s2AccessControl: '33333333333333333333333333333333',
};

describe('S2 inclusion against a mock stick', () => {
  let stick: MockStick;
  let adapter: Adapter;
  let ctx: RecordingContext;
  let allowListed: Awaited<ReturnType<typeof labelledKeyPair>>;
  /** Nodes that received a KEX Fail from the controller. */
  const refused = new Set<number>();

  /** Includes an S2 Authenticated lock-like node and waits until the gateway knows whether it got S2. */
  async function includeS2Node(
    nodeId: number,
    label: Awaited<ReturnType<typeof labelledKeyPair>>,
    secrets: PairingSecrets,
  ): Promise<MockNode> {
    let joined: MockNode | undefined;
    stick.joinOnNextInclusion({
      id: nodeId,
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
        // Watches for the controller cancelling the key exchange (what an unverified DSK leads to).
        node.defineBehavior({
          handleCC: (_controller, self, received) => {
            if (received instanceof Security2CCKEXFail) refused.add(self.id);
            return undefined;
          },
        });
        joined = node;
      },
    });
    await adapter.permitJoin?.(60, secrets);
    await until(() => ctx.devices.has(`zwave:7e570004-${nodeId}`), 'the node to join');
    await adapter.permitJoin?.(0);
    if (joined === undefined) throw new Error('the mock node was never created');
    return joined;
  }

  const isInterviewed = (nodeId: number) =>
    ctx.devices.get(`zwave:7e570004-${nodeId}`)?.capabilities.values.includes('state') === true;
  const wasRefused = (node: MockNode) => refused.has(node.id);

  beforeAll(async () => {
    stick = await MockStick.start({ homeId: 0x7e570004 });
    // The mock radio shares the network keys, as the nodes' side of the S2 channel needs them.
    const sm2 = await SecurityManager2.create();
    await sm2.setKey(SecurityClass.S2_Unauthenticated, Buffer.from(KEYS.s2Unauthenticated, 'hex'));
    await sm2.setKey(SecurityClass.S2_Authenticated, Buffer.from(KEYS.s2Authenticated, 'hex'));
    await sm2.setKey(SecurityClass.S2_AccessControl, Buffer.from(KEYS.s2AccessControl, 'hex'));
    stick.controller.securityManagers.securityManager2 = sm2;
    allowListed = await labelledKeyPair();
    ctx = await recordingContext();
    adapter = zwaveDefinition.create(
      zwaveOptions(stick.url, { securityKeys: KEYS, allowedDsks: [allowListed.dsk] }),
    );
    await adapter.start(ctx);
    await until(() => ctx.statuses.some((s) => s.state === 'running'), 'the driver');
  });

  afterAll(async () => {
    await adapter.stop();
    await stick.close();
  });

  it('includes a node securely with the DSK given at pairing', async () => {
    const label = await labelledKeyPair();
    const node = await includeS2Node(6, label, { dsk: label.dsk });
    await until(() => isInterviewed(6), 'the interview over S2');
    expect(wasRefused(node)).toBe(false);
  });

  it('includes a node securely with its PIN alone', async () => {
    const label = await labelledKeyPair();
    const node = await includeS2Node(7, label, { pin: label.dsk.slice(0, 5) });
    await until(() => isInterviewed(7), 'the interview over S2');
    expect(wasRefused(node)).toBe(false);
  });

  it('includes an allow-listed node securely without anything given at pairing', async () => {
    const node = await includeS2Node(8, allowListed, {});
    await until(() => isInterviewed(8), 'the interview over S2');
    expect(wasRefused(node)).toBe(false);
  });

  it('refuses S2 authentication to a node whose DSK nobody vouched for, without waiting', async () => {
    const node = await includeS2Node(9, await labelledKeyPair(), {});
    await until(() => wasRefused(node), 'the key exchange to be cancelled');
    expect(isInterviewed(9)).toBe(false);
  });
});
