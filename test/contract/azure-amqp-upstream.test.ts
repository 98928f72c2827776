import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { AzureAmqpUpstream } from '../../src/upstream/azure/amqp/azure-amqp-upstream.js';
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

describeUpstreamContract('azure (amqp, gateway identity)', async () => {
  const hub = await startGatewayHub(certs);
  const config = gatewayConfig('amqp', hub, certs);
  return contractHarness(
    hub,
    new AzureAmqpUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() }),
  );
});
