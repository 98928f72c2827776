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

/** Total size of the files directly in `dir` (a LevelDB directory is flat). */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await readdir(dir)) total += (await stat(path.join(dir, file))).size;
  return total;
}
