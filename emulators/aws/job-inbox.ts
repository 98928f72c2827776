import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../src/logger.js';
import { isJsonObject } from './shadow-document.js';
import type { JobsService } from './jobs-service.js';

export interface JobInboxOptions {
  /** `<dir>/<thing>/<jobId>.json` files become jobs. */
  dir: string;
  jobs: Pick<JobsService, 'createJob' | 'execution'>;
  log: Logger;
  /** How often the directory is read; default 500 ms. */
  intervalMs?: number;
}

export interface JobInbox {
  close(): Promise<void>;
}

/** A file changed more recently than this may still be being written: it waits for the next poll. */
const SETTLE_MS = 200;
/** Job ids IoT Core accepts: letters, digits, `-` and `_`, at most 64 (CreateJob). */
const JOB_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * CreateJob for the command line: while `fieldgate emulate aws` runs, a file `<dir>/<thing>/<jobId>.json`
 * holding a job document becomes a job execution for that thing, and the file is renamed
 * `<jobId>.created.json` (or `<jobId>.invalid.json`, with a WARN, when it is not a JSON object or the job
 * id is taken). Every status change of those executions is logged, so the operator sees the job run.
 * A directory rather than an admin endpoint: nothing new to authenticate, and `cat > file` is the client.
 */
export async function startJobInbox(options: JobInboxOptions): Promise<JobInbox> {
  const log = options.log.child({ component: 'aws-job-inbox' });
  await mkdir(options.dir, { recursive: true });
  /** Last status logged per `thing/jobId` created from a file. */
  const watched = new Map<string, { thing: string; jobId: string; status: string }>();
  let running: Promise<void> | undefined;

  const take = async (thing: string, file: string): Promise<void> => {
    const jobId = file.slice(0, -'.json'.length);
    const from = path.join(options.dir, thing, file);
    if ((await stat(from)).mtimeMs > Date.now() - SETTLE_MS) return;
    try {
      if (!JOB_ID.test(jobId)) throw new Error('job id: letters, digits, - and _, at most 64');
      const document: unknown = JSON.parse(await readFile(from, 'utf8'));
      if (!isJsonObject(document)) throw new Error('a job document is a JSON object');
      options.jobs.createJob(thing, jobId, document);
      await rename(from, path.join(options.dir, thing, `${jobId}.created.json`));
      watched.set(`${thing}/${jobId}`, { thing, jobId, status: 'QUEUED' });
      log.info({ thing, jobId }, 'Job created.');
    } catch (e) {
      await rename(from, path.join(options.dir, thing, `${jobId}.invalid.json`)).catch(() => undefined);
      log.warn({ thing, file, err: e }, 'Job file refused.');
    }
  };

  const scan = async (): Promise<void> => {
    const things = await readdir(options.dir, { withFileTypes: true });
    for (const thing of things.filter((d) => d.isDirectory()).map((d) => d.name)) {
      const files = await readdir(path.join(options.dir, thing));
      const fresh = files.filter((f) => f.endsWith('.json') && !/\.(created|invalid)\.json$/.test(f));
      for (const file of fresh.sort()) await take(thing, file);
    }
    for (const entry of watched.values()) {
      const execution = options.jobs.execution(entry.thing, entry.jobId);
      if (execution === undefined || execution.status === entry.status) continue;
      entry.status = execution.status;
      const { thing, jobId } = entry;
      log.info(
        { thing, jobId, status: execution.status, statusDetails: execution.statusDetails },
        'Job execution changed.',
      );
    }
  };
  const poll = (): Promise<void> => {
    running ??= scan()
      .catch((e: unknown) => log.warn({ err: e }, 'Reading the job directory failed.'))
      .finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => void poll(), options.intervalMs ?? 500);
  return {
    close: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
