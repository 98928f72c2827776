import { expect, it } from 'vitest';
import { buildStatus, type StatusInputs } from '../../../src/health/status.js';

const inputs: StatusInputs = {
  gatewayId: 'gw-1',
  version: '0.1.0',
  startedAt: 0,
  now: 60_000,
  adapters: [],
  routes: [],
  quarantine: undefined,
  storageBytes: 0,
  storageWrites: { state: 'ok' },
  devices: { online: 0, offline: 0, asleep: 0, unknown: 0 },
  commands: undefined,
  pipeline: undefined,
  reload: undefined,
  livenessProblem: undefined,
};

it('is healthy with nothing wrong', () => {
  expect(buildStatus(inputs)).toMatchObject({ healthy: true, problems: [] });
});

it('says since when and why queue writes fail, and that readings are dropped meanwhile', () => {
  const since = Date.UTC(2026, 10, 26, 9, 30);
  const status = buildStatus({
    ...inputs,
    storageWrites: { state: 'failing', since, reason: 'IO error: 000003.log: No space left on device' },
  });
  expect(status.healthy).toBe(false);
  expect(status.problems).toEqual([
    'queue writes are failing since 2026-11-26T09:30:00.000Z (IO error: 000003.log: No space left on device); new readings are dropped until storage works again',
  ]);
  expect(status.storage.writes).toMatchObject({ state: 'failing', since });
});

it('says when the queue database needs the restart the daemon is doing', () => {
  const status = buildStatus({
    ...inputs,
    storageWrites: { state: 'needsRestart', since: 0, reason: 'IO error: sticky' },
  });
  expect(status.problems).toEqual([
    'queue database refuses writes (IO error: sticky); fieldgate restarts to reopen it',
  ]);
});
