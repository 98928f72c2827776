import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** Resident set size of a process in bytes, from /proc (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** Bytes a process caused to be written to storage so far (`write_bytes` of /proc/<pid>/io). */
export async function storageWriteBytes(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes:\s+(\d+)$/m.exec(io)?.[1] ?? Number.NaN);
}

/**
 * Total size of the files directly in `dir` (a LevelDB directory is flat). A file LevelDB deletes between the
 * listing and its `stat` (an obsolete log or table) counts as 0.
 */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await readdir(dir)) {
    total += await stat(path.join(dir, file)).then(
      (s) => s.size,
      (e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw e;
      },
    );
  }
  return total;
}

/** Clock ticks per second of /proc/<pid>/stat times: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

/** CPU time a process used so far, all threads, user + system, in seconds (`utime + stime`, /proc/<pid>/stat). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}
