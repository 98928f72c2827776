import { FieldgateError, type ErrorCode } from './errors.js';

/**
 * Loads an emulator (`emulators/<name>/index.js`) with the lazy `import()` that `load` performs. The
 * emulators are test doubles built from a source checkout and are not part of the release tarball, so a
 * missing module becomes a `FieldgateError` with `code` that says so, instead of a module-resolution stack.
 * `what` names the feature that needed the emulator (`fieldgate emulate azure`, `emulators.mqtt.enabled`).
 */
export async function loadEmulator<T>(what: string, code: ErrorCode, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (isModuleNotFound(e)) {
      throw new FieldgateError(
        code,
        `${what} needs the emulators, which are not part of this install; run it from a source checkout ` +
          '(npm run build).',
        { cause: e, context: { what } },
      );
    }
    throw e;
  }
}

function isModuleNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && e.code === 'ERR_MODULE_NOT_FOUND';
}
