import type { Models } from 'zigbee-herdsman';
import type { ReportingSettings } from '../adapter.js';
import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { ZigbeeDevice } from './zigbee-device.js';

/** Attempts per device per run: a device that keeps failing is not hammered on every poll. */
const MAX_ATTEMPTS = 3;

/**
 * The ZCL attribute behind an exposed value, for the operator's reporting settings, and the factor from
 * the value's unit to the attribute's (ZCL: temperature and humidity in 0.01, battery in 0.5 %).
 */
interface ReportedAttribute {
  cluster: string;
  attribute: string;
  scale: number;
}

const REPORTED_ATTRIBUTES: Readonly<Record<string, ReportedAttribute>> = {
  temperature: { cluster: 'msTemperatureMeasurement', attribute: 'measuredValue', scale: 100 },
  humidity: { cluster: 'msRelativeHumidity', attribute: 'measuredValue', scale: 100 },
  pressure: { cluster: 'msPressureMeasurement', attribute: 'measuredValue', scale: 1 },
  illuminance: { cluster: 'msIlluminanceMeasurement', attribute: 'measuredValue', scale: 1 },
  battery: { cluster: 'genPowerCfg', attribute: 'batteryPercentageRemaining', scale: 2 },
  state: { cluster: 'genOnOff', attribute: 'onOff', scale: 1 },
  brightness: { cluster: 'genLevelCtrl', attribute: 'currentLevel', scale: 1 },
  colorTemp: { cluster: 'lightingColorCtrl', attribute: 'colorTemperature', scale: 1 },
  localTemperature: { cluster: 'hvacThermostat', attribute: 'localTemp', scale: 100 },
  occupiedHeatingSetpoint: { cluster: 'hvacThermostat', attribute: 'occupiedHeatingSetpoint', scale: 100 },
  power: { cluster: 'haElectricalMeasurement', attribute: 'activePower', scale: 1 },
  energy: { cluster: 'seMetering', attribute: 'currentSummDelivered', scale: 1 },
};

/** What the mark in herdsman's database records: the definition version and the reporting asked for. */
function markOf(device: ZigbeeDevice): string {
  const { definition } = device;
  const reporting = device.settings?.reporting;
  return (
    `${definition?.model}@${definition?.version}` + (reporting === undefined ? '' : JSON.stringify(reporting))
  );
}

/**
 * Runs a definition's `configure` (bindings, reporting intervals), then the operator's own reporting
 * intervals (`devices.<id>.reporting`), once per definition version and settings per device; the mark is
 * kept in herdsman's device database so a restart does not reconfigure the fleet, and a change of the
 * settings reconfigures the device.
 */
export class DeviceConfigurator {
  private readonly attempts = new Map<string, number>();
  private readonly inProgress = new Set<string>();

  /** Forgets the attempts made for a device, so it is configured afresh (after a re-interview). */
  forget(ieeeAddr: string): void {
    this.attempts.delete(ieeeAddr);
  }

  async configure(device: ZigbeeDevice, coordinator: Models.Endpoint, log: Logger): Promise<void> {
    const { definition, zh } = device;
    const reporting = device.settings?.reporting;
    const mark = markOf(device);
    if (definition === undefined || zh.meta.fieldgateConfigured === mark) return;
    if (definition.configure === undefined && reporting === undefined) return;
    const attempt = (this.attempts.get(zh.ieeeAddr) ?? 0) + 1;
    if (attempt > MAX_ATTEMPTS || this.inProgress.has(zh.ieeeAddr)) return;
    this.attempts.set(zh.ieeeAddr, attempt);
    this.inProgress.add(zh.ieeeAddr);
    try {
      await definition.configure?.(zh, coordinator, definition);
      if (reporting !== undefined) await applyReporting(device, reporting, coordinator, log);
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

/** Configures the operator's reporting intervals on the endpoint that serves each value's cluster. */
async function applyReporting(
  device: ZigbeeDevice,
  reporting: Readonly<Record<string, ReportingSettings>>,
  coordinator: Models.Endpoint,
  log: Logger,
): Promise<void> {
  for (const [value, settings] of Object.entries(reporting)) {
    const target = REPORTED_ATTRIBUTES[value];
    const endpoint =
      target === undefined
        ? undefined
        : device.zh.endpoints.find((e) => e.supportsInputCluster(target.cluster));
    if (target === undefined || endpoint === undefined) {
      log.warn(
        { device: device.id, value, known: Object.keys(REPORTED_ATTRIBUTES) },
        'No standard ZCL attribute of this device reports the value; its reporting setting is ignored.',
      );
      continue;
    }
    await endpoint.bind(target.cluster, coordinator);
    await endpoint.configureReporting(target.cluster, [
      {
        attribute: target.attribute,
        minimumReportInterval: settings.minIntervalS,
        maximumReportInterval: settings.maxIntervalS,
        reportableChange: Math.round((settings.change ?? 0) * target.scale),
      },
    ] as never);
  }
}
