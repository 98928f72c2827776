import zigbeeDefinition from '../../adapters/zigbee/index.js';
import { installFakeAir } from '../fakes/zigbee/fake-coordinator.js';
import { RecordingContext } from '../fakes/zigbee/recording-context.js';
import { waitFor } from '../fakes/wait-for.js';
import { sonoffSnzb02 } from '../fixtures/zigbee/devices.js';
import { adapterContract } from './adapter.contract.js';

// Real zigbee-herdsman Controller and converters; only the coordinator below herdsman's Adapter is fake.
adapterContract('Zigbee adapter', async () => {
  const seam = installFakeAir();
  const ctx = await RecordingContext.create();
  const adapter = zigbeeDefinition.create({
    coordinator: 'ember',
    serialPort: '/dev/ttyFAKE',
    reopen: { initialMs: 20, maxMs: 100 },
  });
  return {
    adapter,
    ctx,
    started: () => waitFor(() => ctx.state === 'running', 'the coordinator to open'),
    isRadioOpen: () => seam.air.coordinators.some((coordinator) => !coordinator.isStopped),
    stimulate: () => {
      // A device joining: a running adapter announces it and interviews it.
      if (seam.air.coordinators.length > 0) seam.air.coordinator.join(sonoffSnzb02());
    },
    dispose: async () => {
      seam.restore();
      await ctx.dispose();
    },
  };
});
