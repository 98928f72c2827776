import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startJobInbox, type JobInbox } from '../../../../emulators/aws/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

describe('the job directory of `fieldgate emulate aws`', () => {
  let dir: string;
  let cloud: TestCloud;
  let inbox: JobInbox;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-jobs-'));
    cloud = await startTestCloud();
    inbox = await startJobInbox({ dir, jobs: cloud.emulator.jobs, log: silentLogger(), intervalMs: 20 });
    await mkdir(path.join(dir, 'gw-1'));
  });
  /** Polls the thing's directory (generously: the box is slow and shared). */
  const fileAppears = async (name: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!(await readdir(path.join(dir, 'gw-1'))).includes(name)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  afterEach(async () => {
    await inbox.close();
    await cloud.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns <thing>/<jobId>.json into a queued job execution and marks the file created', async () => {
    const document = { operation: 'fieldgate.command', device: 'sim:switch-01', name: 'on' };
    await writeFile(path.join(dir, 'gw-1', 'switch-on.json'), JSON.stringify(document));
    await waitFor(() => cloud.emulator.jobs.execution('gw-1', 'switch-on') !== undefined, 'the job');
    expect(cloud.emulator.jobs.execution('gw-1', 'switch-on')).toMatchObject({
      status: 'QUEUED',
      jobDocument: document,
    });
    await fileAppears('switch-on.created.json');
    expect(await readdir(path.join(dir, 'gw-1'))).toEqual(['switch-on.created.json']);
  });

  it('refuses a file that is not a JSON object, or names a job id already taken, and keeps going', async () => {
    await writeFile(path.join(dir, 'gw-1', 'broken.json'), '{"operation":');
    await writeFile(path.join(dir, 'gw-1', 'list.json'), '[]');
    await writeFile(path.join(dir, 'gw-1', 'a.json'), '{"n":1}');
    await waitFor(() => cloud.emulator.jobs.execution('gw-1', 'a') !== undefined, 'job a');
    // The job exists before its file is renamed: a second a.json written in between would be renamed with it.
    await fileAppears('a.created.json');
    await writeFile(path.join(dir, 'gw-1', 'a.json'), '{"n":2}');
    await fileAppears('a.invalid.json');
    expect((await readdir(path.join(dir, 'gw-1'))).sort()).toEqual([
      'a.created.json',
      'a.invalid.json',
      'broken.invalid.json',
      'list.invalid.json',
    ]);
    expect(cloud.emulator.jobs.execution('gw-1', 'a')?.jobDocument).toEqual({ n: 1 });
    expect(cloud.emulator.jobs.execution('gw-1', 'broken')).toBeUndefined();
  });
});
