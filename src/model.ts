/**
 * The shared vocabulary of fieldgate (docs/architecture.md#vocabulary). Adapters, the pipeline, the queue,
 * upstreams and the
 * command router speak only these types to each other.
 */

/** `"<adapter>:<native id>"`, stable across restarts, e.g. `zigbee:0x00158d0001a2b3c4`, `sim:thermo-01`. */
export type DeviceId = string;

export type Value = number | string | boolean | null;

/**
 * An event rather than a state: `action` (a button press, a scene, a keypad entry, as every radio names it)
 * and the values that describe it (`actionDuration`, `actionGroup`). Repeating one is news, so
 * report-on-change, deadband and interval filters never hold it back.
 */
export function isEventValue(name: string): boolean {
  return name === 'action' || /^action[A-Z0-9]/.test(name);
}

/** One device, one timestamp, several named values. Value names are lowerCamel and unit-free. */
export interface Reading {
  device: DeviceId;
  /**
   * The operator's name for the device (config `devices:`, or `fieldgate devices rename`), set by the
   * pipeline; absent when it has none. The id stays the device's identity.
   */
  name?: string;
  /** Epoch ms on the gateway clock. */
  ts: number;
  values: Record<string, Value>;
  units?: Record<string, string>;
  /** Device-side counter, when the device has one (the sim always does). */
  seq?: number;
}

export type Availability = 'online' | 'offline' | 'asleep' | 'unknown';
export type PowerSource = 'mains' | 'battery' | 'unknown';

/** What a device can be asked to do: command name → a description of its arguments. */
export interface CommandCapability {
  name: string;
  /**
   * JSON-schema-like description of the args object, for humans and validation hints. `json` takes any JSON
   * value (a raw value write, whose type only the device knows); the adapter checks it.
   */
  args?: Record<
    string,
    { type: 'number' | 'string' | 'boolean' | 'json'; min?: number; max?: number; enum?: string[] }
  >;
}

export interface DeviceCapabilities {
  /** Value names the device reports. */
  values: string[];
  commands: CommandCapability[];
}

export interface DeviceInfo {
  id: DeviceId;
  adapter: string;
  name?: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  capabilities: DeviceCapabilities;
  availability: Availability;
  /** Epoch ms of the last frame heard from the device; 0 when never. */
  lastSeen: number;
  power: PowerSource;
  /**
   * Set when the device joined without the security its function needs (a Z-Wave lock without S2 Access
   * Control): why, and what to do. Its commands end `failed` with this reason.
   */
  insecure?: string;
}

export type CommandOrigin = 'mqtt' | 'azure' | 'aws' | 'local';

export interface DeviceCommand {
  /** Unique per command; results carry it back. Chosen by the cloud side when it has one. */
  id: string;
  device: DeviceId;
  name: string;
  args: Record<string, unknown>;
  /** Epoch ms after which the command must never be executed. */
  expiresAt?: number;
  origin: CommandOrigin;
  /** Which route (upstream) the command came from, so its result goes back there. */
  route?: string;
  /** Epoch ms when the gateway received it. */
  receivedAt?: number;
}

export type CommandStatus = 'ok' | 'failed' | 'expired' | 'rejected' | 'unsupported';

export interface CommandResult {
  id: string;
  status: CommandStatus;
  detail?: string;
  data?: Record<string, unknown>;
}

/** A reading as stored in a route's queue and sent upstream: it carries the gateway-assigned sequence. */
export interface Envelope {
  /** Gateway-assigned, monotonic per route; with the gateway id it is the reading's identity upstream. */
  gseq: number;
  reading: Reading;
  /**
   * The reading as the queue stored it, when the queue has those bytes at hand: UTF-8 JSON of exactly the
   * fields of `Reading`, in the order `device, name, ts, values, units, seq` (absent ones left out), as
   * `readingJson` writes it (readings queued by a build before this field existed may order the fields
   * differently). An encoder may copy it instead of encoding `reading` again.
   */
  encoded?: Uint8Array;
}

/**
 * A reading's JSON as the queue stores it and encoders copy it (`Envelope.encoded`): exactly the fields of
 * `Reading`, in the order `device, name, ts, values, units, seq` (absent ones left out), whatever else the object
 * carries. Declared here, beside `Envelope`, because the queue and the upstream encoders both rely on this
 * layout and neither imports the other.
 */
export function readingJson(reading: Reading): string {
  const { device, name, ts, values, units, seq } = reading;
  return JSON.stringify({ device, name, ts, values, units, seq });
}

export type AdapterState = 'starting' | 'running' | 'degraded' | 'unavailable' | 'stopped';
