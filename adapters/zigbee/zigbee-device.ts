import type { Models } from 'zigbee-herdsman';
import type { Definition } from 'zigbee-herdsman-converters';
import type { DeviceSettings } from '../adapter.js';
import type { DeviceId, DeviceInfo, PowerSource } from '../../src/model.js';
import { availabilityOf, type AvailabilityFacts } from './availability.js';
import { capabilitiesOf, flattenExposes, type ExposedProperty, type ExposeLike } from './exposes.js';
import type { AvailabilityPolicy } from './options.js';

/** herdsman's ZCL `powerSource` strings (genBasic 0x0007) mapped to the gateway's vocabulary. */
function powerOf(powerSource: string | undefined): PowerSource {
  if (powerSource === undefined || powerSource === 'Unknown') return 'unknown';
  return powerSource === 'Battery' ? 'battery' : 'mains';
}

/**
 * What the adapter knows about one Zigbee device: its herdsman model (replaced when the coordinator is
 * reopened), its converter definition, the converters' per-device state, and when it was last heard.
 * Sleepy end devices are reachable only in a short window after they poll or check in.
 */
export class ZigbeeDevice {
  readonly id: DeviceId;
  definition: Definition | undefined;
  properties: ExposedProperty[] = [];
  /** Value name → unit, from the definition's exposes. */
  exposedUnits: Record<string, string> = {};
  /** The converters' memory of this device (some converters compare with the previous state). */
  readonly converterState: Record<string, unknown> = {};
  lastSeen = 0;
  private awakeUntil = 0;
  private readonly wakeWaiters = new Set<() => void>();

  /** Epoch ms of the last availability ping that went unanswered; 0 when none did. */
  pingFailedAt = 0;
  /** Epoch ms of the last availability ping sent; 0 when none was. */
  pingedAt = 0;

  constructor(
    adapterName: string,
    public zh: Models.Device,
    /** The operator's settings for this device (config `devices:`), read anew at each use (reload). */
    private readonly settingsOf: (id: DeviceId) => DeviceSettings | undefined = () => undefined,
  ) {
    this.id = `${adapterName}:${zh.ieeeAddr}`;
    this.lastSeen = zh.lastSeen ?? 0;
  }

  get settings(): DeviceSettings | undefined {
    return this.settingsOf(this.id);
  }

  /** Options for every converter call: the operator's `converterOptions`, else none. */
  converterOptions(): Readonly<Record<string, unknown>> {
    return this.settings?.converterOptions ?? {};
  }

  get power(): PowerSource {
    return powerOf(this.zh.powerSource);
  }

  /**
   * A battery end device with Poll Control, whose requests must wait for its check-in. Other end devices
   * (Tuya TRVs, most sensors) poll their parent every few seconds, and the parent holds a frame for them
   * until then, so commands to them are sent at once, as zigbee2mqtt does.
   */
  get isSleepy(): boolean {
    return this.zh.type === 'EndDevice' && this.power !== 'mains' && this.hasPollControl;
  }

  private get hasPollControl(): boolean {
    return (
      this.zh.checkinInterval !== undefined ||
      this.zh.endpoints.some((e) => e.supportsInputCluster('genPollCtrl'))
    );
  }

  isAwake(now: number): boolean {
    return !this.isSleepy || now < this.awakeUntil;
  }

  /** Adopts a definition (or none) and the exposes it yields for this very device. */
  identify(definition: Definition | undefined, exposes: readonly ExposeLike[]): void {
    this.definition = definition;
    this.properties = flattenExposes(exposes);
    this.exposedUnits = Object.fromEntries(
      this.properties.filter((p) => p.unit !== undefined).map((p) => [p.name, p.unit!]),
    );
  }

  /**
   * A frame came from the device. For a sleepy device this opens its receive window; returns true when it
   * was asleep before, i.e. when the command router should now deliver what it holds.
   */
  heard(now: number, awakeWindowMs: number): boolean {
    const wasAsleep = !this.isAwake(now);
    this.lastSeen = now;
    if (this.isSleepy) {
      this.awakeUntil = now + awakeWindowMs;
      for (const wake of this.wakeWaiters) wake();
      this.wakeWaiters.clear();
    }
    return wasAsleep;
  }

  /** Resolves at the device's next poll or check-in; true, or false when `signal` aborts first. */
  nextWake(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.wakeWaiters.delete(onWake);
        resolve(false);
      };
      const onWake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.wakeWaiters.add(onWake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  availabilityFacts(now: number): AvailabilityFacts {
    const maxReportS = this.zh.endpoints
      .flatMap((e) => e.configuredReportings)
      .map((r) => r.maximumReportInterval)
      .filter((s) => s > 0 && s < 0xffff);
    return {
      isSleepy: this.isSleepy,
      isBattery: this.power === 'battery' || (this.zh.type === 'EndDevice' && this.power !== 'mains'),
      pingFailedAt: this.pingFailedAt,
      lastSeen: this.lastSeen,
      isAwake: this.isAwake(now),
      ...(this.zh.checkinInterval === undefined ? {} : { checkinIntervalS: this.zh.checkinInterval }),
      ...(maxReportS.length === 0 ? {} : { maxReportIntervalS: Math.max(...maxReportS) }),
    };
  }

  info(adapterName: string, now: number, policy: AvailabilityPolicy): DeviceInfo {
    const zh = this.zh;
    const manufacturer = this.definition?.vendor ?? zh.manufacturerName;
    const model = this.definition?.model ?? zh.modelID;
    return {
      id: this.id,
      adapter: adapterName,
      ...(manufacturer === undefined ? {} : { manufacturer }),
      ...(model === undefined ? {} : { model }),
      ...(zh.softwareBuildID === undefined ? {} : { firmware: zh.softwareBuildID }),
      capabilities: capabilitiesOf(this.properties),
      availability: availabilityOf(this.availabilityFacts(now), policy, now),
      lastSeen: this.lastSeen,
      power: this.power,
    };
  }
}
