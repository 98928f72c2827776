import type { Adapter } from '../../adapters/adapter.js';
import type { CommandRouter } from '../commands/router.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { ReloadStatus, StatusSnapshot } from '../health/status.js';
import type { TailHub } from '../health/tail.js';
import type { CommandResult, DeviceCommand, DeviceInfo } from '../model.js';
import type { Queue } from '../queue/queue.js';

/**
 * What the control plane may ask of the running gateway. The runtime implements it and starts the control
 * server; the control routes see only this, so the control plane and the composition root do not import
 * each other (docs/architecture.md#dependency-rules).
 *
 * Every method answers from the gateway's current state; none blocks on the cloud. Called on the event loop
 * while the gateway runs, also while its queue storage is unavailable (then `status()` says so and the
 * route-specific methods find no route).
 */
export interface GatewayApi {
  readonly devices: DeviceRegistry;
  readonly tail: TailHub;
  /** The config file the daemon runs from (absolute); undefined when the gateway is embedded. */
  readonly configFile?: string | undefined;
  status(): StatusSnapshot;
  routeNames(): string[];
  /** One route's queue, for `fieldgate queue dlq|replay`. */
  queueOf(route: string): Queue | undefined;
  /** The command router once started, for `fieldgate commands list|purge`. */
  commandRouter(): CommandRouter | undefined;
  /** The running adapter instance by name (for pairing and removal), if it started. */
  adapterOf(name: string): Adapter | undefined;
  /** Run a command from the local CLI; resolves with its result. */
  sendCommand(command: Omit<DeviceCommand, 'origin'>): Promise<CommandResult>;
  /** Gives a device an operator-chosen name. Resolves false for an unknown id. */
  renameDevice(id: string, name: string): Promise<boolean>;
  /**
   * Loads the config file again and applies it, as SIGHUP does; resolves with what was applied.
   * @throws FieldgateError `FG_USAGE` when the gateway was not started from a file.
   */
  requestReload?(): Promise<ReloadStatus>;
  /** Forgets a device (and removes it from its network when the radio can). Resolves false for an unknown id. */
  removeDevice(id: string): Promise<boolean>;
  /** Subscribe to device announcements (pairing progress); returns the unsubscribe function. */
  onDevice(listener: (event: 'changed' | 'removed', info: DeviceInfo) => void): () => void;
}
