import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Adapter, AdapterContext, AdapterDefinition, DeviceSettings } from '../adapters/adapter.js';
import { loadAdapterDefinition } from '../adapters/registry.js';
import type { AdapterConfig } from './config/schema.js';
import { FieldgateError, errorMessage, isFieldgateError } from './errors.js';
import type { Logger } from './logger.js';
import type { AdapterState, DeviceId, DeviceInfo, Reading } from './model.js';

/** What the host forwards from its adapter to the rest of the gateway. */
export interface AdapterHostSinks {
  emit(readings: Reading[]): Promise<void>;
  deviceChanged(adapter: string, info: DeviceInfo): void;
  deviceRemoved(id: DeviceId): void;
  deviceAwake(id: DeviceId): void;
}

export interface AdapterStatus {
  name: string;
  type: string;
  state: AdapterState;
  detail?: string;
  since: number;
  readings: number;
  /**
   * Frames the radio delivered that the adapter dropped as undecodable, by reason (`truncated`,
   * `invalidPayload`, …), since the adapter started. Present only for adapters that count them (the radios);
   * `{}` while nothing was dropped.
   */
  droppedFrames?: Record<string, number>;
}

/**
 * The running wrapper around one adapter (the shape of Telegraf's `running_*` wrappers): it builds the
 * adapter's context, counts what it emits, keeps its status, and isolates its failures so one radio never
 * stops the others.
 */
export class AdapterHost {
  readonly name: string;
  readonly type: string;
  #adapter: Adapter | undefined;
  #status: AdapterStatus;
  readonly #abort = new AbortController();
  readonly #log: Logger;

  constructor(
    name: string,
    private readonly config: AdapterConfig,
    private readonly sinks: AdapterHostSinks,
    private readonly options: {
      stateDir: string;
      log: Logger;
      now: () => number;
      /** Config `devices:` for one device, as the radio reads it; read at each call (a reload replaces it). */
      deviceSettings?: (id: DeviceId) => DeviceSettings | undefined;
      /** Where the adapter type's definition comes from; default the registry's lazy import. */
      loadDefinition?: (type: string) => Promise<AdapterDefinition | undefined>;
    },
  ) {
    this.name = name;
    this.type = config.type;
    this.#log = options.log.child({ component: 'adapter', adapter: name });
    this.#status = { name, type: config.type, state: 'starting', since: options.now(), readings: 0 };
  }

  get adapter(): Adapter | undefined {
    return this.#adapter;
  }

  status(): AdapterStatus {
    const droppedFrames = this.#adapter?.droppedFrames?.();
    return droppedFrames === undefined ? { ...this.#status } : { ...this.#status, droppedFrames };
  }

  /** Loads and starts the adapter. Never throws: a failure leaves the adapter `unavailable` with the reason. */
  async start(): Promise<void> {
    try {
      const definition = await (this.options.loadDefinition ?? loadAdapterDefinition)(this.config.type);
      if (definition === undefined) {
        throw new FieldgateError('FG_ADAPTER_UNKNOWN', `unknown adapter type "${this.config.type}"`);
      }
      const { type: _type, enabled: _enabled, ...options } = this.config;
      const adapter = definition.create(options);
      const stateDir = path.join(this.options.stateDir, 'adapters', this.name);
      await mkdir(stateDir, { recursive: true });
      this.#adapter = adapter;
      await adapter.start(this.#context(stateDir));
      if (this.#status.state === 'starting') this.#setStatus('running');
      this.#log.info({ type: this.type, devices: adapter.devices().length }, 'Adapter started.');
    } catch (e) {
      this.#setStatus('unavailable', errorMessage(e));
      this.#log.error({ err: e }, 'Adapter could not start; the rest of the gateway keeps running.');
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    try {
      await this.#adapter?.stop();
    } catch (e) {
      this.#log.warn({ err: e }, 'Adapter did not stop cleanly.');
    }
    this.#setStatus('stopped');
  }

  /** A reload replaced the device settings: the adapter applies what changed (`Adapter.settingsChanged`). */
  settingsChanged(): void {
    if (this.#abort.signal.aborted) return;
    try {
      this.#adapter?.settingsChanged?.();
    } catch (e) {
      this.#log.warn({ err: e }, 'Adapter could not apply the new device settings.');
    }
  }

  #context(stateDir: string): AdapterContext {
    return {
      name: this.name,
      emit: async (readings) => {
        if (this.#abort.signal.aborted || readings.length === 0) return;
        this.#status.readings += readings.length;
        try {
          await this.sinks.emit(readings);
        } catch (e) {
          // The queue counts quota drops itself; anything that reaches here is a reading the gateway lost.
          // A failed queue write is counted (`writeFailed`) and logged once per episode by the store.
          const isCounted =
            isFieldgateError(e, 'FG_QUEUE_NO_SPACE') || isFieldgateError(e, 'FG_QUEUE_WRITE_FAILED');
          this.#log[isCounted ? 'debug' : 'error'](
            { err: e, readings: readings.length },
            'Readings could not be stored.',
          );
        }
      },
      deviceChanged: (info) => this.sinks.deviceChanged(this.name, info),
      deviceRemoved: (id) => this.sinks.deviceRemoved(id),
      deviceAwake: (id) => this.sinks.deviceAwake(id),
      setStatus: (state, detail) => this.#setStatus(state, detail),
      log: this.#log,
      stateDir,
      signal: this.#abort.signal,
      now: this.options.now,
      ...(this.options.deviceSettings === undefined ? {} : { deviceSettings: this.options.deviceSettings }),
    };
  }

  #setStatus(state: AdapterState, detail?: string): void {
    if (state === this.#status.state && detail === this.#status.detail) return;
    const { readings } = this.#status;
    this.#status = { name: this.name, type: this.type, state, since: this.options.now(), readings };
    if (detail !== undefined) this.#status.detail = detail;
    if (state === 'degraded' || state === 'unavailable')
      this.#log.warn({ state, detail }, 'Adapter is not healthy.');
  }
}
