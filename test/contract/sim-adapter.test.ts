import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import simDefinition from '../../adapters/sim/index.js';
import { RecordingContext } from '../fakes/recording-context.js';
import { waitFor } from '../fakes/wait-for.js';
import { adapterContract } from './adapter.contract.js';

// The simulated fleet has no radio: "open" is its report timers running, shown by readings arriving.
adapterContract('sim adapter', async () => {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-sim-contract-'));
  const ctx = new RecordingContext('sim', stateDir);
  const adapter = simDefinition.create({
    reportIntervalMs: 20,
    jitterMs: 5,
    wakeIntervalMs: 200,
    awakeMs: 50,
    seed: 7,
  });
  let isStopped = false;
  const stop = adapter.stop.bind(adapter);
  adapter.stop = async () => {
    await stop();
    isStopped = true;
  };
  return {
    adapter,
    ctx,
    started: () => waitFor(() => ctx.readings.length > 0, 'the first simulated reading'),
    isRadioOpen: () => !isStopped,
    stimulate: () => adapter.permitJoin?.(1),
    dispose: () => rm(stateDir, { recursive: true, force: true }),
  };
});
