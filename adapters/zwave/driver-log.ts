import Transport from 'winston-transport';
import type { Logger } from '../../src/logger.js';
import { frameDropReason, type ZwaveDropReason } from './frame-drops.js';

/** The fields of a zwave-js log entry (`ZWaveLogInfo` in @zwave-js/core) the bridge reads. */
interface ZwaveLogEntry {
  level: string;
  /** One line, or several for multi-line entries such as a CC's fields. */
  message: string | string[];
  /** The channel: `DRIVER`, `CNTRLR`, `SERIAL`, … */
  label?: string;
  /** E.g. `[Node 003]`, `[#2]`: which node or endpoint the entry is about. */
  primaryTags?: string;
  /** E.g. `[Binary Switch]`, `[ACK]`. */
  secondaryTags?: string;
  direction?: string;
  context?: { source?: string; nodeId?: number };
}

/**
 * A winston transport (the only log hook zwave-js has) that writes zwave-js's log entries into the
 * gateway's pino logger. zwave-js's `info` is per-node chatter (interview steps, every value received), so
 * it lands at debug, where the gateway keeps per-message logs; warnings and errors keep their level.
 * Warnings about a dropped malformed frame also go to `onFrameDropped`, the only way to count them.
 */
export class DriverLogBridge extends Transport {
  constructor(
    private readonly target: Logger,
    private readonly onFrameDropped: (reason: ZwaveDropReason) => void = () => undefined,
  ) {
    super();
  }

  override log(entry: ZwaveLogEntry, next: () => void): void {
    const fields = {
      channel: entry.label,
      ...(entry.context?.nodeId === undefined ? {} : { nodeId: entry.context.nodeId }),
    };
    const text = [entry.primaryTags, lines(entry.message), entry.secondaryTags]
      .filter((part) => part !== undefined && part !== '')
      .join(' ');
    const dropReason = frameDropReason(entry.level, lines(entry.message));
    if (dropReason !== undefined) this.onFrameDropped(dropReason);
    switch (entry.level) {
      case 'error':
        this.target.error(fields, text);
        break;
      case 'warn':
        this.target.warn(fields, text);
        break;
      case 'silly':
        this.target.trace(fields, text);
        break;
      default:
        this.target.debug(fields, text);
    }
    next();
  }
}

/**
 * The level zwave-js logs at, from the gateway's own: zwave-js builds every entry it will log (serial
 * frames included), so it is told to stay at `warn` unless the gateway shows debug output anyway.
 */
export function driverLogLevel(log: Logger): 'warn' | 'debug' | 'silly' {
  if (log.isLevelEnabled('trace')) return 'silly';
  return log.isLevelEnabled('debug') ? 'debug' : 'warn';
}

function lines(message: string | string[]): string {
  return typeof message === 'string' ? message.trim() : message.map((line) => line.trim()).join('; ');
}
