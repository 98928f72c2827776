import { silentLogger } from '../../src/logger.js';
import { decodeBatch } from '../../src/upstream/common/batch-payload.js';
import { AwsUpstream } from '../../src/upstream/aws/aws-upstream.js';
import { awsConfigFor, memoryFiles, startTestCloud } from '../fakes/aws-cloud.js';
import { describeUpstreamContract, type UpstreamHarness } from './upstream.contract.js';

describeUpstreamContract(
  'AwsUpstream (MQTT) against the IoT Core emulator',
  async (): Promise<UpstreamHarness> => {
    const cloud = await startTestCloud();
    const device = await cloud.emulator.mintDevice('gw-contract');
    const upstream = new AwsUpstream({
      config: awsConfigFor(cloud, { maxMessageBytes: 4096 }),
      gatewayId: 'gw-contract',
      route: 'contract',
      log: silentLogger(),
      readFile: memoryFiles(device, cloud.emulator.ca),
    });
    const on = (pattern: RegExp) => cloud.messages.filter((m) => pattern.test(m.topic));
    return {
      upstream,
      received: () =>
        on(/^dt\/fieldgate\/gw-contract\//).flatMap((m) =>
          decodeBatch(m.payload).readings.map((r) => r.gseq),
        ),
      results: () =>
        on(/^cmd\/fieldgate\/gw-contract\/[^/]+\/res$/).map(
          (m) => JSON.parse(m.payload.toString()) as { id: string; status: string; device?: string },
        ),
      sendCommand: (target, body) =>
        cloud.publish(`cmd/fieldgate/gw-contract/${target}/req`, JSON.stringify(body)),
      takeOffline: () => cloud.close(),
      dispose: () => cloud.close(),
    };
  },
);
