import type {
  AdapterState,
  CommandResult,
  DeviceCommand,
  DeviceId,
  DeviceInfo,
  Reading,
} from '../src/model.js';
import { FieldgateError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { z } from 'zod';

/**
 * What the runtime gives an adapter. Everything an adapter needs from the daemon goes through here.
 */
export interface AdapterContext {
  /** The adapter instance's name from config (`adapters.<name>`), also the `<adapter>` part of its device ids. */
  readonly name: string;
  /**
   * Hand readings to the pipeline. Await it: it resolves when the readings are durable per the queue's
   * commit policy, and it is the back-pressure path when a queue applies the `block` overflow policy.
   * It never rejects for reasons the adapter can act on; a dropped reading is counted by the queue.
   */
  emit(readings: Reading[]): Promise<void>;
  /** A device appeared, changed (name, availability, capabilities) or was interviewed. */
  deviceChanged(info: DeviceInfo): void;
  /** A device left the network or was removed. */
  deviceRemoved(id: DeviceId): void;
  /**
   * A device that was asleep is now reachable (woke up, polled, advertised connectable). The command
   * router then delivers the commands it holds for it, through `execute`.
   */
  deviceAwake(id: DeviceId): void;
  /** Report the adapter's health; `detail` says why it is degraded or unavailable. */
  setStatus(state: AdapterState, detail?: string): void;
  readonly log: Logger;
  /** A directory the adapter owns under the gateway's state dir (network keys, caches, databases). */
  readonly stateDir: string;
  /** Aborted when the adapter must stop. */
  readonly signal: AbortSignal;
  /** The gateway clock (epoch ms); injected so tests can control time. */
  now(): number;
  /**
   * The operator's settings for one of this adapter's devices (config `devices:`), by device id; undefined
   * when there are none. Read it at each use rather than keeping a copy: a reload replaces the settings.
   * Hosts without a `devices:` section (some tests) leave it out.
   */
  deviceSettings?(id: DeviceId): DeviceSettings | undefined;
}

/**
 * Per-device settings from config `devices:` as a radio reads them (docs/configuration.md). Radio-specific
 * fields are set only for devices of that radio; the pipeline applies the rest (filters, calibration).
 */
export interface DeviceSettings {
  /** The operator's name for the device; readings, topics and per-device identities use it, the id stays. */
  readonly name?: string;
  /** Zigbee: options for the device's zigbee-herdsman-converters definition (`transition`, `color_sync`, …). */
  readonly converterOptions?: Readonly<Record<string, unknown>>;
  /** Zigbee: attribute reporting per exposed value (seconds; `change` is the reportable change). */
  readonly reporting?: Readonly<Record<string, ReportingSettings>>;
  /** Z-Wave: configuration parameters to set on the device, parameter number → value. */
  readonly configuration?: Readonly<Record<string, number>>;
  /** BLE: the device's encryption key (MiBeacon v4/v5, BTHome v2, pvvx), 32 hex digits. */
  readonly bindkey?: string;
}

/** How often a Zigbee device reports one value. */
export interface ReportingSettings {
  readonly minIntervalS: number;
  readonly maxIntervalS: number;
  readonly change?: number;
}

/**
 * The plugin contract every radio implements (docs/architecture.md#adapter).
 *
 * Call order: `start` once, then any number of `execute` / `permitJoin` / `remove` calls (possibly
 * concurrent, for different devices), then `stop` once. Nothing is called after `stop` resolves.
 * A failing adapter never takes the gateway down: it reports `degraded`/`unavailable` through
 * `ctx.setStatus` and reopens its radio with backoff on its own.
 */
export interface Adapter {
  /** Open the radio and begin emitting. Resolves once the adapter is running or has reported why not. */
  start(ctx: AdapterContext): Promise<void>;
  /** Stop emitting and release the radio. Must resolve even if the radio is gone. */
  stop(): Promise<void>;
  /** The devices known now. */
  devices(): DeviceInfo[];
  /**
   * Run one command against a device that is reachable now. Never throws for device-side failures: those
   * are results (`failed`, `unsupported`, …). `signal` aborts when the command's TTL runs out.
   */
  execute(cmd: DeviceCommand, signal: AbortSignal): Promise<CommandResult>;
  /**
   * True when a command sent now would reach the device; false for a sleeping device, whose commands the
   * router holds until `ctx.deviceAwake(id)`.
   */
  isReachable(id: DeviceId): boolean;
  /**
   * Open (seconds > 0) or close (0) the pairing window. Optional: not every radio pairs. `secrets` are what
   * the operator read off the device for authenticated pairing (Z-Wave S2); radios without it ignore them.
   */
  permitJoin?(seconds: number, secrets?: PairingSecrets): Promise<void>;
  /**
   * Devices heard but not configured or allowed (BLE discovery mode), so an operator can pick what to add.
   * Optional: only radios that hear devices without pairing have such a list.
   */
  discoveredDevices?(): DeviceInfo[];
  /** Forget a device (and ask it to leave the network where the radio can). */
  remove?(id: DeviceId): Promise<void>;
  /**
   * Interview a known device again and re-identify it (the way out of a failed interview without
   * re-pairing); resolves with what is known after it. Optional: radios without interviews have none.
   * @throws FieldgateError `FG_INTERVIEW_FAILED` when the device did not answer, `FG_NOT_FOUND` for an
   *   unknown device, `FG_ADAPTER_UNAVAILABLE` while the radio is closed.
   */
  interview?(id: DeviceId): Promise<DeviceInfo>;
  /**
   * Frames the radio delivered that the adapter could not turn into a reading or an event (garbage, cut
   * short, malformed payloads), counted by reason since `start`; a snapshot the caller may keep. Reasons are
   * the adapter's own short camelCase words. Optional: adapters with no radio to hear noise (sim) have none.
   */
  droppedFrames?(): Record<string, number>;
  /**
   * SmartStart (Z-Wave): adds a device to the controller's provisioning list from the QR code or DSK on its
   * label; the radio includes it by itself when it powers up in range. Optional: only radios with such a
   * list. The list is kept by the radio across restarts.
   * @throws FieldgateError `FG_USAGE` for a code that is not a SmartStart QR code or DSK;
   *   `FG_ADAPTER_UNAVAILABLE` while the radio is not connected.
   */
  provision?(code: string): Promise<ProvisioningEntry>;
  /** The provisioning list (SmartStart), as `provision` left it. */
  provisioned?(): ProvisioningEntry[];
  /** Takes a device off the provisioning list by its DSK; resolves false when it was not on it. */
  unprovision?(dsk: string): Promise<boolean>;
  /**
   * The operator's device settings (`ctx.deviceSettings`) were replaced: a reload applied config `devices:`.
   * Called after `start` resolved and before `stop`; an adapter that pushes settings to its devices
   * (Z-Wave configuration parameters) sends what changed now. Must not throw. Optional.
   */
  settingsChanged?(): void;
}

/** One device on a radio's SmartStart provisioning list. */
export interface ProvisioningEntry {
  /** The device's DSK, `12345-…-12345`. */
  dsk: string;
  /** The security classes it is granted when it joins (`s2AccessControl`, …). */
  securityClasses: string[];
  /** `inactive` entries are kept but not included. */
  status: 'active' | 'inactive';
  /** The device id, once it has joined. */
  device?: DeviceId;
  /** Manufacturer, product type and product id from the QR code, `0x0086:0x0003:0x0060`. */
  product?: string;
}

/** What the operator supplies for authenticated pairing (Z-Wave S2): the device's DSK, or only its PIN. */
export interface PairingSecrets {
  /** The full DSK, `12345-12345-12345-12345-12345-12345-12345-12345`, from the device's label or QR code. */
  dsk?: string;
  /** The DSK's first 5 digits, printed on the device as its PIN. */
  pin?: string;
}

/**
 * An adapter type: its name in config (`type:`), the zod schema of its options (which `src/config/schema.ts`
 * composes into the config, adding `type` and `enabled`), and how to build one. Every adapter module's
 * default export, made with `defineAdapter`.
 */
export interface AdapterDefinition {
  readonly type: string;
  readonly optionsSchema: z.ZodType;
  /**
   * Builds an adapter from its options (the adapter's entry in config without `type` and `enabled`). They
   * are parsed with `optionsSchema` first, so the adapter receives exactly the typed, defaulted options.
   * @throws FieldgateError `FG_CONFIG_INVALID` when the options do not match the schema (the config loader
   *   has already reported that, so this only happens to a caller that skipped it).
   */
  create(options: unknown): Adapter;
}

/**
 * Declares an adapter type. `create` receives the options as `optionsSchema` parses them, typed, so no
 * adapter needs a cast or a hand-written copy of its options' shape.
 */
export function defineAdapter<Schema extends z.ZodType>(spec: {
  type: string;
  optionsSchema: Schema;
  create: (options: z.output<Schema>) => Adapter;
}): AdapterDefinition {
  return {
    type: spec.type,
    optionsSchema: spec.optionsSchema,
    create: (options) => {
      const parsed = spec.optionsSchema.safeParse(options);
      if (parsed.success) return spec.create(parsed.data);
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
      throw new FieldgateError('FG_CONFIG_INVALID', `${spec.type} adapter: ${problems.join('; ')}`, {
        context: { type: spec.type, issues: problems },
      });
    },
  };
}

/**
 * Which config keys hold secrets, marked on the schema itself so redaction, log censoring and the
 * coverage test all follow one list (`src/config/secret-fields.ts` reads the marks). A field is marked where
 * it is declared, in an adapter's options as in the daemon's own config:
 *
 *   networkKey: secret(z.string().regex(…)).optional()
 *
 * - `value`: the whole value is a secret (password, key, token, connection string).
 * - `url`: a URL whose userinfo password is a secret (`mqtt://user:[redacted]@host`); the rest is shown.
 */
export type SecretKind = 'value' | 'url';

/** The one registry of secret marks. */
export const secretRegistry = z.registry<{ secret: SecretKind }>();

/** Marks `schema` as holding a secret; returns it unchanged (wrappers and `.describe()` keep the mark). */
export function secret<T extends z.core.$ZodType>(schema: T, kind: SecretKind = 'value'): T {
  secretRegistry.add(schema, { secret: kind });
  return schema;
}
