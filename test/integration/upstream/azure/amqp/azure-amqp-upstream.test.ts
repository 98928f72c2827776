import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import type { AzureUpstreamConfig } from '../../../../../src/config/upstreams/azure.js';
import type { CommandStatus, DeviceCommand } from '../../../../../src/model.js';
import { silentLogger } from '../../../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import { describeGatewayConnector } from '../gateway-connector-suite.js';
import { gatewayConfig, live, startGatewayHub } from '../gateway-fixtures.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

const create = (config: AzureUpstreamConfig) =>
  new AzureAmqpUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() });

describeGatewayConnector({
  title: 'AMQP',
  protocol: 'amqp',
  create,
  certs: () => certs,
  batchAs: 'transfer',
  authFailure: 'from the CBS link',
  // Without renewal the hub detaches the events link when the 3 s token runs out and a send fails.
  renewal: {
    title: 'renews its token on the open CBS link before the hub detaches it, losing and reordering nothing',
    tokenTtlS: 3,
    tokenRenewBeforeS: 2,
    sendForMs: 4500,
  },
  giveBack: 'releases',
});

describe('Azure AMQP upstream: C2D dispositions settled in one tick', () => {
  let hub: AzureHubEmulator | undefined;
  let upstream: AzureAmqpUpstream | undefined;
  afterEach(async () => {
    await upstream?.close();
    await hub?.close();
  });

  it('ok / refused / ok / refused and a release in one tick: the hub sees each outcome', async () => {
    hub = await startGatewayHub(certs);
    const up = create(gatewayConfig('amqp', hub, certs));
    upstream = up;
    const held: DeviceCommand[] = [];
    const runs = new Map<string, number>();
    const statuses: CommandStatus[] = ['ok', 'rejected', 'ok', 'rejected'];
    up.onCommand((incoming) => {
      if (incoming.kind !== 'command') return;
      const { command } = incoming;
      runs.set(command.id, (runs.get(command.id) ?? 0) + 1);
      if (command.id === 'c-5' && runs.get('c-5') === 2) {
        void up.publishResult(command, { id: command.id, status: 'ok' });
        return;
      }
      if (command.id !== 'c-5') {
        held.push(command);
        return;
      }
      // The fifth arrives: settle the four held ones and give this one back, all in this one tick.
      held.forEach((c, i) => void up.publishResult(c, { id: c.id, status: statuses[i]! }));
      throw new Error('not now: release it');
    });
    await up.connect(live());
    for (let n = 1; n <= 5; n += 1) {
      hub.sendC2d('gw-contract', {
        messageId: `c-${n}`,
        ack: 'full',
        body: JSON.stringify({ device: 'sim:switch-01', name: 'on' }),
      });
    }
    await waitFor(() => hub!.feedback().length === 5, 'feedback for all five messages');
    const feedback = new Map(hub.feedback().map((f) => [f.originalMessageId, f.statusCode]));
    expect(['c-1', 'c-2', 'c-3', 'c-4', 'c-5'].map((id) => feedback.get(id))).toEqual([
      'Success',
      'Rejected',
      'Success',
      'Rejected',
      'Success',
    ]);
    // Released, not completed: the hub delivered the fifth again, and only its second run completed it.
    expect(runs.get('c-5')).toBe(2);
  });
});
