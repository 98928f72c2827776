import type { Logger } from '../../src/logger.js';

/** The logger shape zigbee-herdsman and zigbee-herdsman-converters accept in `setLogger`. */
export interface LibraryLogger {
  debug: (message: string | (() => string), namespace: string) => void;
  info: (message: string | (() => string), namespace: string) => void;
  warning: (message: string | (() => string), namespace: string) => void;
  error: (message: string | (() => string), namespace: string) => void;
}

/**
 * Bridges the libraries' logging into the gateway's logger, namespace as a field. Lazy messages are only
 * built when the level is enabled: herdsman logs every frame at debug.
 *
 * While `isReopening()` is true the libraries' errors go to debug: every failed attempt to open a missing
 * or unplugged coordinator makes herdsman log an error, and the adapter already reports the episode once,
 * as its status with the reason.
 */
export function bridgeLibraryLogger(log: Logger, isReopening: () => boolean = () => false): LibraryLogger {
  const text = (m: string | (() => string)): string => (typeof m === 'function' ? m() : m);
  return {
    debug: (m, ns) => {
      if (log.isLevelEnabled('debug')) log.debug({ ns }, text(m));
    },
    info: (m, ns) => {
      // The libraries' info level is per-device chatter (interview steps, requests); ours is lifecycle.
      if (log.isLevelEnabled('debug')) log.debug({ ns }, text(m));
    },
    warning: (m, ns) => log.warn({ ns }, text(m)),
    error: (m, ns) => {
      if (!isReopening()) log.error({ ns }, text(m));
      else if (log.isLevelEnabled('debug')) log.debug({ ns }, text(m));
    },
  };
}
