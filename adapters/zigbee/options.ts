/**
 * The zod-parsed options this adapter receives; mirrors `zigbeeAdapterSchema` in
 * `src/config/adapters/zigbee.ts` (adapters may not import src/config, so the shape is restated here).
 */
export interface ZigbeeOptions {
  coordinator: 'ember' | 'zstack' | 'deconz' | 'zigate' | 'zboss' | 'zoh';
  port?: string;
  baudRate?: number;
  rtscts?: boolean;
  channel: number;
  panId?: number;
  /** 16 lowercase hex digits. */
  extendedPanId?: string;
  /** 32 lowercase hex digits; a secret. */
  networkKey?: string;
  reconnect: { initialMs: number; maxMs: number };
  awakeWindowMs: number;
  availability: AvailabilityPolicy;
}

export interface AvailabilityPolicy {
  missedIntervals: number;
  fallbackMainsMs: number;
  fallbackBatteryMs: number;
  checkIntervalMs: number;
}
