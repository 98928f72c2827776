import os from 'node:os';
import path from 'node:path';
import { AdapterHost } from './adapter-host.js';
import { LevelCommandStore } from './commands/command-store.js';
import { CommandRouter } from './commands/router.js';
import { redactorFor, type Redactor } from './config/redact.js';
import type { Config } from './config/schema.js';
import type { GatewayApi } from './control/gateway-api.js';
import { DeviceRegistry } from './devices/device-registry.js';
import { FieldgateError, errorMessage } from './errors.js';
import type { ReloadStatus, StatusSnapshot } from './health/status.js';
import { TailHub } from './health/tail.js';
import { loadEmulator } from './load-emulator.js';
import type { Logger } from './logger.js';
import type { CommandResult, DeviceCommand, DeviceInfo } from './model.js';
import { planReload } from './ops/reload-plan.js';
import { SwappableStage } from './ops/swappable-stage.js';
import type { LivenessSample } from './ops/watchdog.js';
import { compileMatch } from './pipeline/match.js';
import { Pipeline, buildFilterStage, buildStages } from './pipeline/pipeline.js';
import { LevelQueueStore } from './queue/level-store.js';
import { openWhenAvailable } from './queue/open-when-available.js';
import type { Queue } from './queue/queue.js';
import { prepareStateDir } from './queue/state-dir-check.js';
import { byDeviceId, commandTarget } from './runtime/command-glue.js';
import { DeviceEvents } from './runtime/device-events.js';
import { DeviceNaming } from './runtime/device-naming.js';
import { Routes } from './runtime/routes.js';
import { Servers } from './runtime/servers.js';
import { StatusSnapshotter } from './runtime/status-snapshot.js';
import type { LogRing } from './web/log-ring.js';

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  version: string;
  now?: () => number;
  /** How long stop() lets an in-flight send finish. */
  stopGraceMs?: number;
  /** Every known secret, scrubbed from status output; default: the secrets of `config`. */
  redactor?: Redactor;
  /** How often a queue whose storage is unavailable (read-only, I/O error) is tried again. Default 5 s. */
  storageRetryMs?: number;
  /** The daemon's recent log lines, for the status page's live log (`web.enabled`). */
  webLogs?: LogRing;
  /** The config file the daemon runs from (absolute), for `devices rename`; absent when embedded. */
  configFile?: string;
}

/**
 * The one composition root (docs/architecture.md#rooms): builds every component from the config, wires them,
 * starts them in dependency order — queue, command router, forwarders (never waiting for the cloud),
 * pipeline, servers, adapters — and stops them in reverse. The parts it wires live in `src/runtime/`.
 */
export class Runtime implements GatewayApi {
  readonly gatewayId: string;
  readonly devices = new DeviceRegistry();
  readonly tail = new TailHub();
  readonly startedAt: number;
  /** Why the watchdog is not fed; set by the process that runs the watchdog. */
  livenessProblem: string | undefined;
  #config: Config;
  readonly #naming: DeviceNaming;
  readonly #routes = new Routes();
  readonly #servers: Servers;
  readonly #deviceEvents: DeviceEvents;
  readonly #snapshotter = new StatusSnapshotter();
  #reloadRequest: (() => Promise<ReloadStatus>) | undefined;
  #filter: SwappableStage | undefined;
  #reload: ReloadStatus | undefined;
  readonly #restartListeners = new Set<(reason: string) => void>();
  readonly #storageWaitListeners = new Set<(reason: string) => void>();
  /** Why the queue storage cannot be opened, while start waits for it. */
  #storageUnavailable: string | undefined;
  readonly #startAbort = new AbortController();
  #store: LevelQueueStore | undefined;
  #pipeline: Pipeline | undefined;
  #router: CommandRouter | undefined;
  #adapters: AdapterHost[] = [];
  #closeBroker: (() => Promise<void>) | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #redactor: Redactor;

  constructor(private readonly options: RuntimeOptions) {
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
    this.#config = options.config;
    this.#naming = new DeviceNaming(this.devices, options.config.devices);
    this.#redactor = options.redactor ?? redactorFor(options.config);
    this.gatewayId = options.config.gateway.id ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-');
    this.startedAt = this.#now();
    this.#servers = new Servers({
      api: this,
      config: options.config,
      log: options.log,
      now: this.#now,
      webLogs: options.webLogs,
    });
    this.#deviceEvents = new DeviceEvents({
      devices: this.devices,
      naming: this.#naming,
      routes: this.#routes,
      log: options.log,
      router: () => this.#router,
      pipeline: () => this.#pipeline,
    });
  }

  /** The config file the daemon runs from, when it runs from one. */
  get configFile(): string | undefined {
    return this.options.configFile;
  }

  /** The config in effect: the one started with, plus whatever reloads applied. */
  get config(): Config {
    return this.#config;
  }

  /** Starts every part, once; later calls return the same promise. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { config } = this.options;
    await prepareStateDir(config.gateway.stateDir, this.#log.child({ component: 'queue' }));
    const store = await this.#openStore(config);
    if (store === undefined) return; // stopped while waiting for storage
    this.#store = store;
    store.onNeedsRestart((reason) => {
      for (const listener of this.#restartListeners) listener(reason);
    });
    await this.#naming.load(config.gateway.stateDir, this.#config.devices);
    // After the store: its LOCK keeps a second daemon on this state dir from binding the broker's port.
    if (config.emulators.mqtt.enabled) await this.#startDemoBroker(config.emulators.mqtt);

    this.#router = this.#buildRouter(store, config);
    for (const [name, route] of Object.entries(config.routes)) {
      await this.#routes.add(name, route, {
        store,
        commands: config.commands,
        gatewayId: this.gatewayId,
        log: this.#log,
        now: this.#now,
        status: () => this.status(),
        submit: (incoming, from) =>
          this.#router?.submit(byDeviceId(this.devices, incoming), from) ?? Promise.resolve(),
      });
    }
    await this.#router.start();
    this.#routes.startForwarders();

    this.#pipeline = this.#buildPipeline(config);
    this.#pipeline.start();

    await this.#servers.listenControl();
    await this.#servers.listenHttp(() => this.status());

    for (const [name, adapterConfig] of Object.entries(config.adapters)) {
      if (!adapterConfig.enabled) continue;
      this.#adapters.push(
        new AdapterHost(name, adapterConfig, this.#deviceEvents, {
          stateDir: config.gateway.stateDir,
          log: this.#log,
          now: this.#now,
          deviceSettings: (id) => this.#naming.settings.radioSettings(id),
        }),
      );
    }
    await Promise.all(this.#adapters.map((a) => a.start()));
    this.#deviceEvents.isAnnouncingJoins = true;
    this.#log.info(
      { gateway: this.gatewayId, adapters: this.#adapters.length, routes: this.#routes.all.length },
      'fieldgate started.',
    );
  }

  /**
   * Stops in reverse order: adapters, servers, pipeline (final flush), forwarders (grace), router, queue,
   * emulator. A stop that arrives while `start()` is still running (SIGTERM while a radio opens) waits for
   * the start to settle, then stops whatever started; stopping mid-start would leave later parts running
   * unowned. Idempotent: later calls return the same promise.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#startAbort.abort();
    await this.#starting?.catch(() => undefined);
    await Promise.all(this.#adapters.map((a) => a.stop()));
    await this.#servers.close();
    await this.#pipeline?.stop();
    await this.#routes.stopForwarders(this.options.stopGraceMs ?? 5000);
    await this.#router?.stop();
    this.#routes.stopIntakes();
    await this.#store?.close();
    await this.#closeBroker?.();
    this.#log.info('fieldgate stopped.');
  }

  /** Run a command from the local CLI; resolves with its result. */
  sendCommand(command: Omit<DeviceCommand, 'origin'>): Promise<CommandResult> {
    if (this.#router === undefined)
      return Promise.resolve({ id: command.id, status: 'failed', detail: 'not started' });
    return this.#router.submit(
      { kind: 'command', command: { ...command, origin: 'local' } },
      { origin: 'local' },
    );
  }

  status(): StatusSnapshot {
    return this.#snapshotter.snapshot(
      {
        gatewayId: this.gatewayId,
        version: this.options.version,
        startedAt: this.startedAt,
        adapters: this.#adapters,
        routes: this.#routes.all,
        store: this.#store,
        storageUnavailable: this.#storageUnavailable,
        devices: this.devices,
        router: this.#router,
        pipeline: this.#pipeline,
        reload: this.#reload,
        livenessProblem: this.livenessProblem,
        redactor: this.#redactor,
        control: this.#servers.controlStats(),
      },
      this.#now(),
    );
  }

  /**
   * Applies a newly loaded config (SIGHUP): reloadable subtrees take effect now; every other change is
   * kept out and reported in `status.restartRequired`. Returns what happened, also kept for `status`.
   */
  reload(next: Config): ReloadStatus {
    const plan = planReload(this.#config, next);
    if (plan.apply.includes('devices')) {
      this.#config = { ...this.#config, devices: next.devices };
      this.#naming.replaceSettings(next.devices);
      for (const adapter of this.#adapters) adapter.settingsChanged();
    }
    if (plan.apply.includes('pipeline.filter')) {
      this.#config = {
        ...this.#config,
        pipeline: { ...this.#config.pipeline, filter: next.pipeline.filter },
      };
    }
    if (plan.apply.includes('pipeline.filter') || plan.apply.includes('devices'))
      this.#filter?.replace(buildFilterStage(this.#config.pipeline.filter, () => this.#naming.settings));
    this.#reload = { at: this.#now(), applied: plan.apply, restartRequired: plan.restartRequired };
    return this.#reload;
  }

  /**
   * Asks the process that runs the gateway to load its config file again and apply it, as SIGHUP does
   * (`fieldgate devices rename` after writing the file). Resolves with what happened.
   * @throws FieldgateError `FG_USAGE` when nothing can reload this gateway (it was not started from a file).
   */
  requestReload(): Promise<ReloadStatus> {
    if (this.#reloadRequest === undefined)
      return Promise.reject(
        new FieldgateError('FG_USAGE', 'this gateway was not started from a config file'),
      );
    return this.#reloadRequest();
  }

  /** Sets what `requestReload` runs: the daemon's SIGHUP reload. */
  onReloadRequest(reload: () => Promise<ReloadStatus>): void {
    this.#reloadRequest = reload;
  }

  /** Records a reload that failed before anything was applied (the new file is invalid). */
  reloadFailed(error: string): void {
    this.#reload = {
      at: this.#now(),
      applied: [],
      restartRequired: this.#reload?.restartRequired ?? [],
      error,
    };
  }

  /** What the watchdog compares between ticks: readings in, and the queue writer's commits. */
  livenessSample(): LivenessSample {
    return {
      emitted: this.#adapters.reduce((sum, a) => sum + a.status().readings, 0),
      commits: this.#store?.io().commits ?? 0,
    };
  }

  /** The command router once started, for `fieldgate commands list|purge`. */
  commandRouter(): CommandRouter | undefined {
    return this.#router;
  }

  /** One route's queue, for `fieldgate queue dlq|replay`. */
  queueOf(route: string): Queue | undefined {
    return this.#routes.get(route)?.queue;
  }

  routeNames(): string[] {
    return this.#routes.names();
  }

  /** The running adapter instance by name (for pairing and removal), if it started. */
  adapterOf(name: string) {
    return this.#adapters.find((a) => a.name === name)?.adapter;
  }

  /** Gives a device an operator-chosen name; persisted under the state dir. Returns false for an unknown id. */
  renameDevice(id: string, name: string): Promise<boolean> {
    return this.#naming.rename(id, name);
  }

  /** Forgets a device: the adapter removes it from its network when it can, the gateway forgets it anyway. */
  async removeDevice(id: string): Promise<boolean> {
    const entry = this.devices.get(id);
    if (entry === undefined) return false;
    await this.adapterOf(entry.adapter)?.remove?.(id);
    // An adapter that removed it from its network has said so ("Device left.").
    if (this.devices.get(id) !== undefined)
      this.#log.info({ device: id, adapter: entry.adapter }, 'Device removed by the operator.');
    this.devices.remove(id);
    await this.#naming.forget(id);
    return true;
  }

  /**
   * `listener` is called when a part can recover only through a restart of the process: the queue database
   * refusing writes even after recovery. Committed data is safe; the process owner should stop and restart.
   */
  onNeedsRestart(listener: (reason: string) => void): () => void {
    this.#restartListeners.add(listener);
    return () => this.#restartListeners.delete(listener);
  }

  /**
   * `listener` is called once when start finds the queue storage unavailable (read-only, I/O error) and
   * waits for it, with the control socket up: the process is alive and should say so (READY, watchdog).
   */
  onWaitingForStorage(listener: (reason: string) => void): () => void {
    this.#storageWaitListeners.add(listener);
    return () => this.#storageWaitListeners.delete(listener);
  }

  /** Subscribe to device announcements (pairing progress); returns the unsubscribe function. */
  onDevice(listener: (event: 'changed' | 'removed', info: DeviceInfo) => void): () => void {
    return this.#deviceEvents.onDevice(listener);
  }

  /**
   * Opens the queue store, waiting while its storage is unavailable (see `openWhenAvailable`): meanwhile the
   * control socket is up and `status` says why. Resolves with undefined when stop() is called meanwhile.
   */
  #openStore(config: Config): Promise<LevelQueueStore | undefined> {
    const log = this.#log.child({ component: 'queue' });
    const retryMs = this.options.storageRetryMs ?? 5000;
    return openWhenAvailable({
      open: () =>
        LevelQueueStore.open({
          dir: path.join(config.gateway.stateDir, 'queue'),
          ...config.queue,
          log,
          now: this.#now,
        }),
      retryMs,
      signal: this.#startAbort.signal,
      onUnavailable: async (reason, isFirst) => {
        this.#storageUnavailable = reason;
        if (!isFirst) return;
        log.error(
          { err: reason, retryMs },
          'Queue storage is unavailable; fieldgate stays up, stores and forwards nothing, and retries until it opens.',
        );
        await this.#servers.listenControl();
        for (const listener of this.#storageWaitListeners) listener(reason);
      },
      onAvailableAgain: () => {
        this.#storageUnavailable = undefined;
        log.warn('Queue storage is available again; starting.');
      },
    });
  }

  /**
   * The demo MQTT broker (`emulators.mqtt`), loaded only when enabled: a production gateway never carries
   * it in memory, and the release carries no emulators, so enabling it there is a configuration error.
   */
  async #startDemoBroker(options: Config['emulators']['mqtt']): Promise<void> {
    const { startMqttBroker } = await loadEmulator(
      'emulators.mqtt.enabled',
      'FG_CONFIG_INVALID',
      () => import('../emulators/mqtt/index.js'),
    );
    const { host, port, username, password } = options;
    const broker = await startMqttBroker({
      host,
      port,
      log: this.#log,
      ...(username === undefined || password === undefined ? {} : { credentials: { username, password } }),
    }).catch((e: unknown) => {
      throw new FieldgateError(
        'FG_CONFIG_INVALID',
        `emulators.mqtt: the demo MQTT broker cannot listen on ${host}:${port}: ${errorMessage(e)}` +
          ((e as NodeJS.ErrnoException).code === 'EADDRINUSE'
            ? ' (another MQTT broker, such as Mosquitto, may run here: stop it, or set emulators.mqtt.port)'
            : ''),
        { cause: e },
      );
    });
    this.#closeBroker = () => broker.close();
  }

  #buildRouter(store: LevelQueueStore, config: Config): CommandRouter {
    return new CommandRouter({
      store: new LevelCommandStore(store.sublevel('commands')),
      lookup: (id) => commandTarget(this.devices, this.#adapters, id),
      publishResult: (cmd, result) => this.#routes.publishResult(cmd, result),
      config: config.commands,
      isRouteConnected: (route) => this.#routes.get(route)?.upstream.isConnected ?? true,
      log: this.#log.child({ component: 'commands' }),
      now: this.#now,
    });
  }

  #buildPipeline(config: Config): Pipeline {
    return new Pipeline({
      stages: buildStages(config.pipeline, () => this.#naming.settings).map((stage) =>
        stage.name === 'filter' ? (this.#filter = new SwappableStage(stage)) : stage,
      ),
      routes: Object.entries(config.routes).map(([name, route]) => ({
        name,
        match: compileMatch(route.match),
      })),
      deliver: (route, readings) => this.#routes.deliver(route, readings),
      onOutput: (readings) => this.tail.publish(readings),
      now: this.#now,
      log: this.#log.child({ component: 'pipeline' }),
    });
  }
}
