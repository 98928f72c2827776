import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { AzureMqttUpstream } from '../../src/upstream/azure/mqtt/azure-mqtt-upstream.js';
import { makeTestCertificates, type TestCertificates } from '../integration/azure/certificates.js';
import {
  contractHarness,
  gatewayConfig,
  startGatewayHub,
} from '../integration/upstream/azure/gateway-fixtures.js';
import { describeUpstreamContract } from './upstream.contract.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

describeUpstreamContract('azure (mqtt, gateway identity)', async () => {
  const hub = await startGatewayHub(certs);
  const config = gatewayConfig('mqtt', hub, certs);
  return contractHarness(
    hub,
    new AzureMqttUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() }),
  );
});
