import { statfs } from 'node:fs/promises';

/** Bytes available to an unprivileged user on the filesystem holding `dir` (`statfs` f_bavail × f_bsize). */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}
