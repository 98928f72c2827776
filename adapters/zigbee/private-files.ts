import { chmod, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files in a Zigbee adapter's state dir that hold the network key: our stored network settings and
 * zigbee-herdsman's coordinator backup (and the temporary file it writes the backup to before renaming).
 * Whoever reads the key can decrypt and inject traffic on the network.
 */
export const KEY_FILES = ['network.json', 'coordinator-backup.json', 'coordinator-backup.json.tmp'] as const;

/** Mode of a file holding a key: read and write for the service user only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of the adapter's state dir: a file created inside it is unreachable to others whatever its mode. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Makes the adapter's state dir 0700 and every key file in it that exists 0600, and returns the files
 * whose mode it changed. zigbee-herdsman writes its backup (at first start, once a day and when stopped)
 * with the process umask, as a new file each time (write, then rename); the private directory covers the
 * moments between such a write and the next call, which the adapter makes after opening and after
 * closing the coordinator.
 */
export async function keepKeyFilesPrivate(stateDir: string): Promise<string[]> {
  const fixed: string[] = [];
  if (await setModeIfDifferent(stateDir, PRIVATE_DIR_MODE)) fixed.push(stateDir);
  for (const name of KEY_FILES) {
    const file = path.join(stateDir, name);
    if (await setModeIfDifferent(file, PRIVATE_FILE_MODE)) fixed.push(file);
  }
  return fixed;
}

async function setModeIfDifferent(file: string, mode: number): Promise<boolean> {
  let current: number;
  try {
    current = (await stat(file)).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (current === mode) return false;
  await chmod(file, mode);
  return true;
}
