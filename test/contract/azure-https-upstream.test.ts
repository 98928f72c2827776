import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { AzureHttpsUpstream } from '../../src/upstream/azure/https/azure-https-upstream.js';
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

describeUpstreamContract('azure (https, gateway identity)', async () => {
  const hub = await startGatewayHub(certs);
  const config = gatewayConfig('https', hub, certs);
  return contractHarness(
    hub,
    new AzureHttpsUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() }),
  );
});
