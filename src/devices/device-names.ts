import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DeviceId, DeviceInfo } from '../model.js';

/**
 * Names the operator gave devices (`fieldgate devices rename`), kept by the gateway rather than the radio so
 * every adapter supports them. Persisted as JSON under the state dir, written atomically (temp file, then
 * rename), never in the user's config file.
 */
export class DeviceNames {
  readonly #names: Map<DeviceId, string>;

  private constructor(
    private readonly file: string,
    names: Map<DeviceId, string>,
  ) {
    this.#names = names;
  }

  /** Loads the file; a missing file means no names yet. */
  static async load(file: string): Promise<DeviceNames> {
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
      return new DeviceNames(file, new Map(Object.entries(parsed)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new DeviceNames(file, new Map());
      throw e;
    }
  }

  /** The stored name of a device, if it has one. */
  nameOf(id: DeviceId): string | undefined {
    return this.#names.get(id);
  }

  /** The device as announced, with the operator's name in place of the radio's when there is one. */
  apply(info: DeviceInfo): DeviceInfo {
    const name = this.#names.get(info.id);
    return name === undefined ? info : { ...info, name };
  }

  async set(id: DeviceId, name: string): Promise<void> {
    this.#names.set(id, name);
    await this.#save();
  }

  async delete(id: DeviceId): Promise<void> {
    if (this.#names.delete(id)) await this.#save();
  }

  async #save(): Promise<void> {
    const temp = `${this.file}.tmp`;
    await writeFile(temp, `${JSON.stringify(Object.fromEntries(this.#names), null, 2)}\n`);
    await rename(temp, this.file);
  }
}
