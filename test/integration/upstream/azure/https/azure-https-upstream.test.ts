import { afterAll, beforeAll } from 'vitest';
import type { AzureUpstreamConfig } from '../../../../../src/config/upstreams/azure.js';
import { silentLogger } from '../../../../../src/logger.js';
import { AzureHttpsUpstream } from '../../../../../src/upstream/azure/https/azure-https-upstream.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import { describeGatewayConnector } from '../gateway-connector-suite.js';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs.cleanup());

const create = (config: AzureUpstreamConfig) =>
  new AzureHttpsUpstream({ config, gatewayId: 'gw-contract', route: 'contract', log: silentLogger() });

describeGatewayConnector({
  title: 'HTTPS',
  protocol: 'https',
  create,
  certs: () => certs,
  batchAs: 'request',
  authFailure: '(401)',
  renewal: {
    title: 'signs a fresh token before the current one runs out, losing and reordering nothing',
    tokenTtlS: 2,
    tokenRenewBeforeS: 1,
    sendForMs: 3500,
  },
  giveBack: 'abandons',
});
