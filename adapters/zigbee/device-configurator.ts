import type { Models } from 'zigbee-herdsman';
import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { ZigbeeDevice } from './zigbee-device.js';

/** Attempts per device per run: a device that keeps failing is not hammered on every poll. */
const MAX_ATTEMPTS = 3;

/**
 * Runs a definition's `configure` (bindings, reporting intervals) once per definition version per
 * device; the mark is kept in herdsman's device database so a restart does not reconfigure the fleet.
 */
export class DeviceConfigurator {
  private readonly attempts = new Map<string, number>();
  private readonly inProgress = new Set<string>();

  async configure(device: ZigbeeDevice, coordinator: Models.Endpoint, log: Logger): Promise<void> {
    const { definition, zh } = device;
    const mark = `${definition?.model}@${definition?.version}`;
    if (definition?.configure === undefined || zh.meta.fieldgateConfigured === mark) return;
    const attempt = (this.attempts.get(zh.ieeeAddr) ?? 0) + 1;
    if (attempt > MAX_ATTEMPTS || this.inProgress.has(zh.ieeeAddr)) return;
    this.attempts.set(zh.ieeeAddr, attempt);
    this.inProgress.add(zh.ieeeAddr);
    try {
      await definition.configure(zh, coordinator, definition);
      zh.meta.fieldgateConfigured = mark;
      zh.save();
      log.info({ device: device.id }, 'Zigbee device configured (bindings and reporting).');
    } catch (e) {
      log.warn({ device: device.id, err: errorMessage(e), attempt }, 'Configuring the device failed.');
    } finally {
      this.inProgress.delete(zh.ieeeAddr);
    }
  }
}
