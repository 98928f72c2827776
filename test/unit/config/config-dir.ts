import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temp directory holding a config file and whatever sits beside it (secrets.yaml, password files). */
export interface ConfigDir {
  dir: string;
  /** Writes `name` (relative to `dir`) and returns its absolute path. */
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}

export async function makeConfigDir(): Promise<ConfigDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-config-'));
  return {
    dir,
    async write(name, text) {
      const file = path.join(dir, name);
      await writeFile(file, text, { mode: 0o600 });
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
