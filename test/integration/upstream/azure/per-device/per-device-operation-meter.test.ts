import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AzureHubEmulator } from '../../../../../emulators/azure/index.js';
import { createLogger } from '../../../../../src/logger.js';
import { PerDeviceAmqpUpstream } from '../../../../../src/upstream/azure/per-device/per-device-amqp-upstream.js';
import { createPerDeviceHttpsUpstream } from '../../../../../src/upstream/azure/per-device/per-device-https-upstream.js';
import { createPerDeviceMqttUpstream } from '../../../../../src/upstream/azure/per-device/per-device-mqtt-upstream.js';
import type { IncomingCommand, Upstream } from '../../../../../src/upstream/upstream.js';
import { waitFor } from '../../../../fakes/wait-for.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import { live, perDeviceConfig, reading, startHub } from './per-device-fixtures.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

type Metered = Upstream & { stats(): { billedUnits: number; operations?: Record<string, number> } };

type Options = Parameters<typeof createPerDeviceMqttUpstream>[0];
const create: Record<'mqtt' | 'amqp' | 'https', (options: Options) => Metered> = {
  mqtt: createPerDeviceMqttUpstream,
  amqp: (options) => new PerDeviceAmqpUpstream(options),
  https: createPerDeviceHttpsUpstream,
};

for (const protocol of ['mqtt', 'amqp', 'https'] as const) {
  // Direct methods reach a leaf's own device only over MQTT (AMQP perDevice opens no method links).
  const hasMethods = protocol === 'mqtt';

  describe(`the Azure ${protocol} perDevice connector’s meter`, () => {
    let hub: AzureHubEmulator;
    let upstream: Metered | undefined;
    afterEach(async () => {
      await upstream?.close();
      await hub.close();
    });

    it('counts each leaf’s D2C, C2D and method operations in the hub’s 4 KB units, as the hub meters them', async () => {
      hub = await startHub(certs);
      const endpoint = { mqtt: hub.url, amqp: hub.amqpUrl!, https: hub.httpsUrl! }[protocol];
      const config = perDeviceConfig(protocol, endpoint, certs, {
        ...(protocol === 'https' ? { c2dPollIntervalS: 0.2 } : {}),
      });
      const up: Metered = create[protocol]({
        config,
        gatewayId: 'gw-1',
        route: 'r',
        log: createLogger({ level: 'silent' }),
      });
      upstream = up;
      up.onCommand((command: IncomingCommand) => {
        if (command.kind !== 'command') return;
        const { id, device } = command.command;
        void up.publishResult({ id, device }, { id, status: 'ok', data: { echo: 'x'.repeat(5000) } });
      });
      await up.connect(live());
      const batch = [reading(1, 'sim:thermo-01'), reading(2, 'sim:switch-01'), reading(3, 'sim:thermo-01')];
      expect(await up.send(batch, live())).toEqual({ kind: 'ok' });
      const telemetryMessages = hub.counters().messages;
      hub.sendC2d('sim:thermo-01', {
        body: JSON.stringify({ name: 'set', args: { on: true }, pad: 'p'.repeat(5000) }),
        ack: 'full',
      });
      await waitFor(() => hub.feedback().length === 1, 'the C2D message settled');
      // The command's result goes up as a D2C message of the leaf's own.
      await waitFor(() => hub.counters().messages === telemetryMessages + 1, 'the result message');
      if (hasMethods) {
        const reply = await hub.invokeMethod(
          'sim:switch-01',
          'set',
          { device: 'sim:switch-01', args: { on: false } },
          10_000,
        );
        expect(reply.status).toBe(200);
      }

      // The client counts a message once it has the hub's answer, which comes after the hub recorded it.
      await waitFor(() => up.stats().operations?.d2c === hub.counters().messages, 'the client to count it');
      const stats = up.stats();
      const hubCounters = hub.counters();
      expect(stats.operations).toEqual({
        d2c: hubCounters.messages,
        c2d: 1,
        twinRead: 0,
        twinUpdate: 0,
        method: hasMethods ? 1 : 0,
      });
      expect(hubCounters.operations).toEqual({
        c2d: 1,
        twinRead: 0,
        twinUpdate: 0,
        method: hasMethods ? 1 : 0,
      });
      // The ~5 KB C2D message and result are 2 units each, on top of the telemetry.
      expect(stats.billedUnits).toBe(hubCounters.billedUnits + hubCounters.operationUnits);
      expect(stats.billedUnits).toBeGreaterThanOrEqual(telemetryMessages + 2 + 2);
    });
  });
}
