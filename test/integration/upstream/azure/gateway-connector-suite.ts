import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AzureUpstreamConfig } from '../../../../src/config/upstreams/azure.js';
import type { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { isFieldgateError } from '../../../../src/errors.js';
import type { CommandStatus } from '../../../../src/model.js';
import type { AzureUpstreamStats } from '../../../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import type { Upstream } from '../../../../src/upstream/upstream.js';
import { waitFor } from '../../../fakes/wait-for.js';
import type { TestCertificates } from '../../azure/certificates.js';
import {
  envelope,
  gatewayConfig,
  gseqs,
  live,
  POLICY_KEY,
  results,
  startGatewayHub,
  telemetry,
} from './gateway-fixtures.js';

type GatewayUpstream = Upstream & { stats(): AzureUpstreamStats };

export interface GatewayConnectorCase {
  /** `AMQP`, `HTTPS`: the suite is "Azure <title> upstream against the emulator". */
  title: string;
  protocol: 'amqp' | 'https';
  create(config: AzureUpstreamConfig): GatewayUpstream;
  certs(): TestCertificates;
  /** What one send of a batch becomes: `transfer`, `request`. */
  batchAs: string;
  /** Where a wrong key is refused, as the test name says it. */
  authFailure: string;
  /** Token renewal: the test name, and a token life short enough that a run of sends outlives it. */
  renewal: { title: string; tokenTtlS: number; tokenRenewBeforeS: number; sendForMs: number };
  /** How a C2D message nobody takes goes back: `releases` (AMQP), `abandons` (HTTPS). */
  giveBack: 'releases' | 'abandons';
}

/**
 * The gateway-identity AMQP and HTTPS connectors against the emulated hub: the same behaviour, in each
 * protocol's terms. (MQTT differs: no batches, and results instead of settlements.)
 */
export function describeGatewayConnector(c: GatewayConnectorCase): void {
  describe(`Azure ${c.title} upstream against the emulator`, () => {
    let hub: AzureHubEmulator;
    let upstream: GatewayUpstream | undefined;
    const upstreamFor = (overrides: Partial<AzureUpstreamConfig> = {}): GatewayUpstream =>
      c.create(gatewayConfig(c.protocol, hub, c.certs(), overrides));
    beforeEach(async () => {
      hub = await startGatewayHub(c.certs());
    });
    afterEach(async () => {
      await upstream?.close();
      upstream = undefined;
      await hub.close();
    });

    it(`sends a batch as one ${c.batchAs} of full D2C messages, under its own identity, billed in 4 KB units`, async () => {
      upstream = upstreamFor();
      await upstream.connect(live());
      expect(await upstream.send([envelope(1), envelope(2)], live())).toEqual({ kind: 'ok' });
      const [message] = telemetry(hub);
      expect(message!.systemProperties['iothub-connection-device-id']).toBe('gw-contract');
      expect(message!.properties).toMatchObject({
        '$.mid': 'gw-contract-contract-1',
        '$.ct': 'application/json',
        '$.ce': 'utf-8',
        'fieldgate-count': '2',
      });
      expect(upstream.stats()).toMatchObject({
        messages: 1,
        readings: 2,
        billedUnits: hub.counters().billedUnits,
      });
    });

    it('connects with a DeviceConnect policy key', async () => {
      upstream = upstreamFor({ sharedAccessKey: POLICY_KEY, sharedAccessKeyName: 'device' });
      await upstream.connect(live());
      expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'ok' });
    });

    it(`reports a wrong key as a retryable auth failure ${c.authFailure}`, async () => {
      upstream = upstreamFor({ sharedAccessKey: POLICY_KEY });
      const error = await upstream.connect(live()).catch((e: unknown) => e);
      expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
    });

    it(c.renewal.title, async () => {
      const { tokenTtlS, tokenRenewBeforeS } = c.renewal;
      upstream = upstreamFor({ tokenTtlS, tokenRenewBeforeS });
      await upstream.connect(live());
      const sent: number[] = [];
      const deadline = Date.now() + c.renewal.sendForMs;
      for (let gseq = 1; Date.now() < deadline; gseq += 1) {
        expect(await upstream.send([envelope(gseq)], live())).toEqual({ kind: 'ok' });
        sent.push(gseq);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(gseqs(hub)).toEqual(sent);
    });

    it('keeps the data when throttled or over quota, and delivers it once the hub allows', async () => {
      upstream = upstreamFor();
      await upstream.connect(live());
      hub.meter.setLimits({ dailyQuotaUnits: 0 });
      expect(await upstream.send([envelope(1)], live())).toMatchObject({
        kind: 'retry',
        reason: expect.stringMatching(/quota/) as unknown,
      });
      hub.meter.setLimits({ dailyQuotaUnits: Infinity, d2cPerSecond: 0 });
      expect(await upstream.send([envelope(1)], live())).toMatchObject({
        kind: 'retry',
        reason: expect.stringMatching(/throttled/) as unknown,
      });
      hub.meter.setLimits({ d2cPerSecond: 100 });
      expect(await upstream.send([envelope(1)], live())).toEqual({ kind: 'ok' });
      expect(gseqs(hub)).toEqual([1]);
      expect(hub.counters()).toMatchObject({ quotaRefused: 1, throttled: 1 });
    });

    it.each([
      ['ok', 'Success'],
      ['failed', 'Success'],
      ['rejected', 'Rejected'],
      ['expired', 'Rejected'],
    ] as [CommandStatus, string][])(
      'settles a C2D message by its command’s result: %s → feedback %s',
      async (status, feedback) => {
        upstream = upstreamFor();
        const up = upstream;
        up.onCommand((incoming) => {
          if (incoming.kind === 'command')
            void up.publishResult(incoming.command, { id: incoming.command.id, status });
        });
        await up.connect(live());
        hub.sendC2d('gw-contract', {
          messageId: 'c-1',
          ack: 'full',
          body: JSON.stringify({ device: 'sim:switch-01', name: 'on' }),
        });
        await waitFor(() => hub.feedback().length === 1, 'the hub to settle the message');
        expect(hub.feedback()[0]).toMatchObject({ originalMessageId: 'c-1', statusCode: feedback });
        expect(hub.c2d.depth('gw-contract')).toBe(0);
        await waitFor(() => results(hub).length === 1, 'the result message');
        expect(results(hub)[0]).toMatchObject({ id: 'c-1', status, device: 'sim:switch-01' });
      },
    );

    it(`${c.giveBack} a C2D message it cannot take, so the hub redelivers it (and counts each abandon)`, async () => {
      upstream = upstreamFor();
      await upstream.connect(live());
      hub.sendC2d('gw-contract', { messageId: 'c-lost', ack: 'negative', body: '{}' });
      // No handler: every delivery goes back, and the hub gives up after its 10 deliveries.
      await waitFor(() => hub.feedback().length === 1, 'the hub to give up on the message');
      expect(hub.feedback()[0]).toMatchObject({
        originalMessageId: 'c-lost',
        statusCode: 'DeliveryCountExceeded',
      });
    });
  });
}
