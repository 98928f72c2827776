import { isMap, isScalar } from 'yaml';
import { adapterRenamedKeys, isAdapterType } from '../../adapters/registry.js';
import { formatPath, type ConfigIssue } from './issues.js';
import { issueAt, keyText, type YamlSource } from './yaml-source.js';

/**
 * Maps option keys an adapter renamed (Zigbee `port` → `serialPort`, `reconnect` → `reopen`) to their new
 * names in the parsed document, before validation, so a config written for an older release keeps working.
 * Each old key used is a warning at its position; an entry that gives both the old and the new name is an
 * error, because which one was meant cannot be told.
 */
export function applyRenamedKeys(source: YamlSource): { warnings: ConfigIssue[]; errors: ConfigIssue[] } {
  const warnings: ConfigIssue[] = [];
  const errors: ConfigIssue[] = [];
  const adapters = source.doc.get('adapters', true);
  if (!isMap(adapters)) return { warnings, errors };
  for (const entry of adapters.items) {
    const name = keyText(entry.key);
    const options = entry.value;
    if (name === undefined || !isMap(options)) continue;
    const type = options.get('type');
    if (typeof type !== 'string' || !isAdapterType(type)) continue;
    for (const [oldKey, newKey] of Object.entries(adapterRenamedKeys[type] ?? {})) {
      const pair = options.items.find((item) => keyText(item.key) === oldKey);
      if (pair === undefined) continue;
      const oldPath = ['adapters', name, oldKey];
      if (options.items.some((item) => keyText(item.key) === newKey)) {
        errors.push(
          issueAt(
            source,
            oldPath,
            `"${oldKey}" is the old name of "${newKey}" and both are given; keep only "${newKey}"`,
            'key',
          ),
        );
        // Reported here once; validation would otherwise call the old key unknown as well.
        options.delete(pair.key);
        continue;
      }
      warnings.push(
        issueAt(
          source,
          oldPath,
          `warning: "${oldKey}" is deprecated; rename it to "${newKey}" (its value is used as "${newKey}")`,
          'key',
        ),
      );
      if (isScalar(pair.key)) pair.key.value = newKey;
      else pair.key = newKey;
      moveOverrides(source, formatPath(oldPath), formatPath(['adapters', name, newKey]));
    }
  }
  return { warnings, errors };
}

/** Keeps later issues under a renamed key pointing at the `FIELDGATE__…` variable that set it. */
function moveOverrides(source: YamlSource, oldPath: string, newPath: string): void {
  for (const [keyPath, variable] of [...source.overrides]) {
    if (keyPath !== oldPath && !keyPath.startsWith(`${oldPath}.`)) continue;
    source.overrides.delete(keyPath);
    source.overrides.set(newPath + keyPath.slice(oldPath.length), variable);
  }
}
