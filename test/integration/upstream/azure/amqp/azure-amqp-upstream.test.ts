import { afterAll, beforeAll } from 'vitest';
import type { AzureUpstreamConfig } from '../../../../../src/config/upstreams/azure.js';
import { silentLogger } from '../../../../../src/logger.js';
import { AzureAmqpUpstream } from '../../../../../src/upstream/azure/amqp/azure-amqp-upstream.js';
import { makeTestCertificates, type TestCertificates } from '../../../azure/certificates.js';
import { describeGatewayConnector } from '../gateway-connector-suite.js';

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
