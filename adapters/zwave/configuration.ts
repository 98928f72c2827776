import type { ZWaveNode } from 'zwave-js';
import type { Logger } from '../../src/logger.js';
import type { DeviceId } from '../../src/model.js';

/** Configuration CC (Z-Wave Application CC spec). */
const CONFIGURATION_CC = 0x70;

/** zwave-js's `SetValueStatus` members this module reads, from the adapter's lazily loaded module. */
export interface SetValueStatuses {
  Working: number;
  SuccessUnsupervised: number;
  Success: number;
}

/**
 * Sets the configuration parameters the operator gave for one device (config `devices.<id>.configuration`,
 * parameter number → value) through zwave-js's `setValue`, which takes each parameter's size and format
 * from the device's interview or the device database. A parameter is sent once per value: `attempted`
 * remembers what was sent, so a settings change (a reload) sends only what changed. A failure is logged
 * once (WARN) with the parameter and the device's answer; it is tried again only when its value changes.
 */
export async function applyConfiguration(
  node: ZWaveNode,
  device: DeviceId,
  wanted: Readonly<Record<string, number>> | undefined,
  attempted: Map<string, number>,
  statuses: SetValueStatuses,
  log: Logger,
): Promise<void> {
  for (const [key, value] of Object.entries(wanted ?? {})) {
    if (attempted.get(key) === value) continue;
    attempted.set(key, value);
    const parameter = Number(key);
    if (!Number.isInteger(parameter) || parameter < 1 || parameter > 0xffff) {
      log.warn(
        { device, parameter: key },
        'A Z-Wave configuration parameter must be a number from 1 to 65535.',
      );
      continue;
    }
    if (!Number.isInteger(value)) {
      log.warn({ device, parameter, value }, 'A Z-Wave configuration value must be an integer.');
      continue;
    }
    // zwave-js sends a parameter it knows nothing about with a guessed size, which a device ignores: only
    // parameters the interview or the device database declared are sent.
    const metadata = node.getValueMetadata({ commandClass: CONFIGURATION_CC, property: parameter }) as {
      valueSize?: unknown;
    };
    if (typeof metadata.valueSize !== 'number') {
      log.warn(
        { device, parameter, value },
        'A Z-Wave configuration parameter could not be set: the device does not declare it (not sent).',
      );
      continue;
    }
    try {
      const result = await node.setValue({ commandClass: CONFIGURATION_CC, property: parameter }, value);
      const status: number = result.status;
      if (status === statuses.Success) {
        log.info({ device, parameter, value }, 'Z-Wave configuration parameter set (confirmed).');
        continue;
      }
      if (status !== statuses.SuccessUnsupervised && status !== statuses.Working) {
        log.warn(
          { device, parameter, value, status, reason: result.message },
          'A Z-Wave configuration parameter could not be set.',
        );
        continue;
      }
      // Unsupervised: nothing says the device took it until it is read back.
      const actual: unknown = await node.commandClasses.Configuration.get(parameter);
      if (actual === value)
        log.info({ device, parameter, value }, 'Z-Wave configuration parameter set (read back).');
      else
        log.warn(
          { device, parameter, value, actual: actual ?? null },
          'A Z-Wave configuration parameter could not be set: the device reports another value.',
        );
    } catch (e) {
      log.warn({ device, parameter, value, err: e }, 'A Z-Wave configuration parameter could not be set.');
    }
  }
}
