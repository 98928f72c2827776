import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.js';

/**
 * Config subtrees a SIGHUP applies to the running gateway. Everything else — radio ports, routes, queue
 * sizes, the socket — is read once at start, so a change there is reported as needing a restart.
 */
export const RELOADABLE_PATHS: readonly string[] = ['pipeline.filter', 'devices'];

export interface ReloadPlan {
  /** Reloadable subtrees that changed and will be applied. */
  apply: string[];
  /** Changed leaf paths that only take effect after a restart (`adapters.zigbee.port`). */
  restartRequired: string[];
}

/** Pure: compares the running config with the newly loaded one. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const apply: string[] = [];
  const restartRequired: string[] = [];
  collectChanges(current, next, '', (path) => {
    const reloadable = RELOADABLE_PATHS.find((p) => path === p || path.startsWith(`${p}.`));
    if (reloadable === undefined) restartRequired.push(path);
    else if (!apply.includes(reloadable)) apply.push(reloadable);
  });
  return { apply, restartRequired };
}

function collectChanges(a: unknown, b: unknown, path: string, changed: (path: string) => void): void {
  if (isDeepStrictEqual(a, b)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
      collectChanges(a[key], b[key], path === '' ? key : `${path}.${key}`, changed);
    return;
  }
  // Arrays and scalars are compared whole: `devices: [a, b]` changing is one change to `…devices`.
  changed(path);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
