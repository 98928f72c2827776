import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap } from 'yaml';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { formatIssue } from '../config/issues.js';
import { parseYamlSource } from '../config/yaml-source.js';
import { FieldgateError, errorMessage, isFieldgateError } from '../errors.js';
import type { DeviceId } from '../model.js';

/**
 * The config text with `devices.<id>.name` set to `name`, everything else as written: comments, order,
 * quoting and `!secret` tags survive (the `yaml` package's Document API edits the parsed document).
 * @throws FieldgateError `FG_CONFIG_INVALID` when the text is not valid YAML or `devices` is not a mapping.
 */
export function withDeviceName(text: string, file: string, id: DeviceId, name: string): string {
  const { source, issues } = parseYamlSource(text, file);
  if (issues.length > 0)
    throw new FieldgateError(
      'FG_CONFIG_INVALID',
      `${file} cannot be edited:\n${issues.map(formatIssue).join('\n')}`,
    );
  const doc = source.doc;
  const devices = doc.get('devices', true);
  if (devices !== undefined && devices !== null && !isMap(devices) && !isEmptyScalar(devices))
    throw new FieldgateError('FG_CONFIG_INVALID', `${file}: devices is not a mapping; fix it by hand first`);
  if (isEmptyScalar(devices)) doc.delete('devices');
  const entry = doc.getIn(['devices', id], true);
  if (entry !== undefined && entry !== null && !isMap(entry) && !isEmptyScalar(entry))
    throw new FieldgateError(
      'FG_CONFIG_INVALID',
      `${file}: devices.${id} is not a mapping; fix it by hand first`,
    );
  if (isEmptyScalar(entry)) doc.deleteIn(['devices', id]);
  doc.setIn(['devices', id, 'name'], name);
  return doc.toString({ lineWidth: 0 });
}

function isEmptyScalar(node: unknown): boolean {
  return typeof node === 'object' && node !== null && 'value' in node && node.value === null;
}

/**
 * Gives a device its name in the config file: edits the text (`withDeviceName`), validates the result as the
 * daemon would, then replaces the file atomically (a temp file beside it, same mode, then rename), so the file
 * is never half written and never invalid. Resolves with the new config as loaded.
 * @throws FieldgateError `FG_CONFIG_NOT_FOUND` when the file cannot be read; `FG_CONFIG_INVALID` (with
 *   every issue) when the result would not load, e.g. a name another device already has;
 *   `FG_CONFIG_READ_ONLY` when it cannot be written. The file is unchanged in every case.
 */
export async function writeDeviceName(
  file: string,
  id: DeviceId,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (cause) {
    throw new FieldgateError('FG_CONFIG_NOT_FOUND', `Cannot read the configuration file ${absolute}.`, {
      cause,
    });
  }
  const next = withDeviceName(text, absolute, id, name);
  const temp = path.join(path.dirname(absolute), `.${path.basename(absolute)}.${process.pid}.tmp`);
  try {
    try {
      await writeFile(temp, next, { flag: 'wx', mode: (await stat(absolute)).mode & 0o7777 });
      // The umask may have narrowed the mode given at creation.
      await chmod(temp, (await stat(absolute)).mode & 0o7777);
    } catch (cause) {
      throw new FieldgateError(
        'FG_CONFIG_READ_ONLY',
        `Cannot write beside ${absolute} (${errorMessage(cause)}); run as a user who may edit it (sudo). Nothing was changed.`,
        { cause, context: { file: absolute } },
      );
    }
    let loaded: LoadedConfig;
    try {
      loaded = await loadConfig(temp, { env });
    } catch (e) {
      if (!isFieldgateError(e)) throw e;
      // The issues name the temp file; the user edits the real one.
      throw new FieldgateError(e.code, e.message.replaceAll(temp, absolute), { cause: e });
    }
    await rename(temp, absolute);
    return { ...loaded, file: absolute };
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
