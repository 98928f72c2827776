import os from 'node:os';
import path from 'node:path';
import { AdapterHost } from './adapter-host.js';
import { LevelCommandStore } from './commands/command-store.js';
import { CommandRouter } from './commands/router.js';
import { CommandIntake } from './commands/intake-limiter.js';
import { redactorFor, type Redactor } from './config/redact.js';
import type { Config } from './config/schema.js';
import type { GatewayApi } from './control/gateway-api.js';
import { ControlServer } from './control/server.js';
import { DeviceRegistry } from './devices/device-registry.js';
import type { Logger } from './logger.js';
import type { CommandResult, DeviceCommand, Reading } from './model.js';
import { compileMatch } from './pipeline/match.js';
import { Pipeline, buildStages } from './pipeline/pipeline.js';
import { FieldgateError, errorMessage } from './errors.js';
import { LevelQueueStore } from './queue/level-store.js';
import { openWhenAvailable } from './queue/open-when-available.js';
import { prepareStateDir } from './queue/state-dir-check.js';
import type { Queue } from './queue/queue.js';
import { Forwarder } from './upstream/forwarder.js';
import { createUpstream } from './upstream/registry.js';
import { incomingId, type IncomingCommand } from './commands/incoming.js';
import type { Upstream } from './upstream/upstream.js';
import { buildStatus, type ReloadStatus, type StatusSnapshot } from './health/status.js';
import { TailHub } from './health/tail.js';
import { DrainRate, drainEtaS } from './health/drain-rate.js';
import type { MetricsServer } from './health/metrics-server.js';
import { DeviceNames } from './devices/device-names.js';
import { DeviceSettingsTable } from './devices/device-settings.js';
import { buildFilterStage } from './pipeline/pipeline.js';
import { planReload } from './ops/reload-plan.js';
import { SwappableStage } from './ops/swappable-stage.js';
import type { LivenessSample } from './ops/watchdog.js';
import type { DeviceInfo } from './model.js';
import { loadEmulator } from './load-emulator.js';
import type { LogRing } from './web/log-ring.js';
import type { WebServer } from './web/server.js';

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

interface RouteParts {
  name: string;
  queue: Queue;
  upstream: Upstream;
  forwarder: Forwarder;
  intake: CommandIntake;
}

/**
 * The one composition root (docs/architecture.md#rooms): builds every component from the config, wires them,
 * starts them
 * in dependency order — queue, forwarders (never waiting for the cloud), pipeline, adapters — and stops them
 * in reverse.
 */
export class Runtime implements GatewayApi {
  readonly gatewayId: string;
  readonly devices = new DeviceRegistry();
  readonly tail = new TailHub();
  readonly startedAt: number;
  /** Why the watchdog is not fed; set by the process that runs the watchdog. */
  livenessProblem: string | undefined;
  #config: Config;
  #names: DeviceNames | undefined;
  /** Config `devices:` in effect; a reload replaces it. */
  #deviceSettings: DeviceSettingsTable;
  #reloadRequest: (() => Promise<ReloadStatus>) | undefined;
  #filter: SwappableStage | undefined;
  #reload: ReloadStatus | undefined;
  #metrics: MetricsServer | undefined;
  #web: WebServer | undefined;
  readonly #drainRate = new DrainRate();
  /** Each device's name as its radio announced it (or an older `devices rename` stored it). */
  readonly #announcedNames = new Map<string, string | undefined>();
  /** Devices an adapter announces while starting are known ones, counted in "Adapter started."; later ones joined. */
  #isAnnouncingJoins = false;
  readonly #deviceListeners = new Set<(event: 'changed' | 'removed', info: DeviceInfo) => void>();
  readonly #restartListeners = new Set<(reason: string) => void>();
  readonly #storageWaitListeners = new Set<(reason: string) => void>();
  /** Why the queue storage cannot be opened, while start waits for it. */
  #storageUnavailable: string | undefined;
  readonly #startAbort = new AbortController();
  #store: LevelQueueStore | undefined;
  #routes: RouteParts[] = [];
  #pipeline: Pipeline | undefined;
  #router: CommandRouter | undefined;
  #adapters: AdapterHost[] = [];
  #control: ControlServer | undefined;
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
    this.#deviceSettings = new DeviceSettingsTable(options.config.devices);
    this.#redactor = options.redactor ?? redactorFor(options.config);
    this.gatewayId = options.config.gateway.id ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-');
    this.startedAt = this.#now();
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
    const log = this.#log;
    await prepareStateDir(config.gateway.stateDir, log.child({ component: 'queue' }));
    this.#store = await this.#openStore(config);
    if (this.#store === undefined) return; // stopped while waiting for storage
    this.#store.onNeedsRestart((reason) => {
      for (const listener of this.#restartListeners) listener(reason);
    });
    const names = await DeviceNames.load(path.join(config.gateway.stateDir, 'device-names.json'));
    this.#names = names;
    this.#deviceSettings = new DeviceSettingsTable(this.#config.devices, (id) => names.nameOf(id));

    // After the store: its LOCK keeps a second daemon on this state dir from binding the broker's port.
    if (config.emulators.mqtt.enabled) {
      // Loaded only when enabled: a production gateway never carries the broker in memory.
      // The release carries no emulators: enabling the demo broker there is a configuration error.
      const { startMqttBroker } = await loadEmulator(
        'emulators.mqtt.enabled',
        'FG_CONFIG_INVALID',
        () => import('../emulators/mqtt/index.js'),
      );
      const { host, port, username, password } = config.emulators.mqtt;
      const broker = await startMqttBroker({
        host,
        port,
        log,
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

    this.#router = new CommandRouter({
      store: new LevelCommandStore(this.#store.sublevel('commands')),
      lookup: (id) => this.#lookupCommandTarget(id),
      publishResult: (cmd, result) => this.#publishResult(cmd, result),
      config: config.commands,
      isRouteConnected: (route) => this.#routes.find((r) => r.name === route)?.upstream.isConnected ?? true,
      log: log.child({ component: 'commands' }),
      now: this.#now,
    });

    for (const [name, route] of Object.entries(config.routes)) {
      const queue = await this.#store.queue(name, { ttlMs: route.ttlMs });
      const upstream = await createUpstream(route.upstream, {
        gatewayId: this.gatewayId,
        route: name,
        log,
        status: () => this.status(),
      });
      // Rate and in-flight bounds per route: a flood on the command topic costs counters, not memory.
      const intake = new CommandIntake({
        route: name,
        config: config.commands.intake,
        submit: (incoming) =>
          this.#router?.submit(this.#byDeviceId(incoming), { route: name, origin: route.upstream.type }) ??
          Promise.resolve(),
        answer: (incoming, detail) => this.#answerRefused(upstream, name, incoming, detail),
        log: log.child({ component: 'commands' }),
        isConnected: () => upstream.isConnected,
        now: this.#now,
      });
      upstream.onCommand((incoming) => intake.offer(incoming));
      upstream.setCommandGate?.(intake);
      const forwarder = new Forwarder({
        route: name,
        queue,
        upstream,
        batch: route.batch,
        maxInFlight: route.maxInFlight,
        drain: route.drain,
        liveShare: route.liveShare,
        backoff: route.backoff,
        log,
        now: this.#now,
      });
      this.#routes.push({ name, queue, upstream, forwarder, intake });
    }
    await this.#router.start();
    for (const route of this.#routes) route.forwarder.start();

    this.#pipeline = new Pipeline({
      stages: buildStages(config.pipeline, () => this.#deviceSettings).map((stage) =>
        stage.name === 'filter' ? (this.#filter = new SwappableStage(stage)) : stage,
      ),
      routes: Object.entries(config.routes).map(([name, route]) => ({
        name,
        match: compileMatch(route.match),
      })),
      deliver: (route, readings) => this.#deliver(route, readings),
      onOutput: (readings) => this.tail.publish(readings),
      now: this.#now,
      log: log.child({ component: 'pipeline' }),
    });
    this.#pipeline.start();

    await this.#listenControl(config);
    if (config.metrics.listen !== '') {
      // Loaded only when configured: prom-client and its default collectors cost ~2 MiB of heap.
      const { MetricsServer } = await import('./health/metrics-server.js');
      this.#metrics = new MetricsServer({
        listen: config.metrics.listen,
        status: () => this.status(),
        log: log.child({ component: 'metrics' }),
      });
      await this.#metrics.listen();
    }
    if (config.web.enabled) {
      // Loaded only when enabled: the page's files and history cost nothing on a gateway that has it off.
      const { WebServer } = await import('./web/server.js');
      this.#web = new WebServer({
        api: this,
        config: config.web,
        logs: this.options.webLogs,
        log: log.child({ component: 'web' }),
        now: this.#now,
      });
      await this.#web.listen();
    }

    for (const [name, adapterConfig] of Object.entries(config.adapters)) {
      if (!adapterConfig.enabled) continue;
      const host = new AdapterHost(name, adapterConfig, this.#adapterSinks(), {
        stateDir: config.gateway.stateDir,
        log,
        now: this.#now,
        deviceSettings: (id) => this.#deviceSettings.radioSettings(id),
      });
      this.#adapters.push(host);
    }
    await Promise.all(this.#adapters.map((a) => a.start()));
    this.#isAnnouncingJoins = true;
    log.info(
      { gateway: this.gatewayId, adapters: this.#adapters.length, routes: this.#routes.length },
      'fieldgate started.',
    );
  }

  /**
   * Stops in reverse order: adapters, pipeline (final flush), forwarders (grace), router, queue, emulator.
   * A stop that arrives while `start()` is still running (SIGTERM while a radio opens) waits for the start
   * to settle, then stops whatever started; stopping mid-start would leave later parts running unowned.
   * Idempotent: later calls return the same promise.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#startAbort.abort();
    await this.#starting?.catch(() => undefined);
    const grace = this.options.stopGraceMs ?? 5000;
    await Promise.all(this.#adapters.map((a) => a.stop()));
    await this.#web?.close();
    await this.#control?.close();
    await this.#metrics?.close();
    await this.#pipeline?.stop();
    await Promise.all(this.#routes.map((r) => r.forwarder.stop(grace)));
    await this.#router?.stop();
    for (const route of this.#routes) route.intake.stop();
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
    const now = this.#now();
    return buildStatus({
      gatewayId: this.gatewayId,
      version: this.options.version,
      startedAt: this.startedAt,
      now,
      adapters: this.#adapters.map((a) => a.status()),
      routes: this.#routes.map((r) => {
        const forwarder = r.forwarder.status();
        const queue = r.queue.stats();
        const perS = this.#drainRate.sample(r.name, forwarder.sentReadings, now);
        return {
          name: r.name,
          forwarder,
          queue,
          drainEtaS: drainEtaS(
            queue.depth,
            perS,
            forwarder.state === 'idle' || forwarder.state === 'sending',
          ),
          commandIntake: r.intake.stats(),
        };
      }),
      quarantine: this.#store?.quarantine,
      storageUnavailable: this.#storageUnavailable,
      storageRepair: this.#store?.repair,
      storageEmptied: this.#store?.emptied,
      storageBytes: this.#store?.storageBytes() ?? 0,
      storageWrites: this.#store?.writeHealth() ?? { state: 'ok' },
      devices: this.devices.countByAvailability(),
      commands: this.#router?.stats(),
      pipeline: this.#pipeline?.stats(),
      reload: this.#reload,
      livenessProblem: this.livenessProblem,
      redactor: this.#redactor,
      control: this.#control?.stats(),
    });
  }

  /**
   * Applies a newly loaded config (SIGHUP): reloadable subtrees take effect now; every other change is
   * kept out and reported in `status.restartRequired`. Returns what happened, also kept for `status`.
   */
  reload(next: Config): ReloadStatus {
    const plan = planReload(this.#config, next);
    if (plan.apply.includes('devices')) {
      this.#deviceSettings = this.#deviceSettings.replaced(next.devices);
      this.#config = { ...this.#config, devices: next.devices };
      this.#refreshDeviceNames();
    }
    if (plan.apply.includes('pipeline.filter')) {
      this.#config = {
        ...this.#config,
        pipeline: { ...this.#config.pipeline, filter: next.pipeline.filter },
      };
    }
    if (plan.apply.includes('pipeline.filter') || plan.apply.includes('devices'))
      this.#filter?.replace(buildFilterStage(this.#config.pipeline.filter, () => this.#deviceSettings));
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

  /** Every known device's name again, after the `devices:` section changed. */
  #refreshDeviceNames(): void {
    for (const info of this.devices.list()) {
      const adapter = this.devices.get(info.id)?.adapter;
      if (adapter === undefined) continue;
      const announced = this.#announcedNames.get(info.id);
      const name = this.#deviceSettings.nameOf(info.id) ?? announced;
      const { name: _old, ...rest } = info;
      this.devices.upsert(adapter, name === undefined ? rest : { ...rest, name });
    }
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
    return this.#routes.find((r) => r.name === route)?.queue;
  }

  routeNames(): string[] {
    return this.#routes.map((r) => r.name);
  }

  /** The running adapter instance by name (for pairing and removal), if it started. */
  adapterOf(name: string) {
    return this.#adapters.find((a) => a.name === name)?.adapter;
  }

  /** Gives a device an operator-chosen name; persisted under the state dir. Returns false for an unknown id. */
  async renameDevice(id: string, name: string): Promise<boolean> {
    const entry = this.devices.get(id);
    if (entry === undefined || this.#names === undefined) return false;
    await this.#names.set(id, name);
    this.#deviceSettings.forget(id);
    this.devices.upsert(entry.adapter, this.#names.apply(entry.info));
    return true;
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
    await this.#names?.delete(id);
    return true;
  }

  /** Subscribe to device announcements (pairing progress); returns the unsubscribe function. */
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

  onDevice(listener: (event: 'changed' | 'removed', info: DeviceInfo) => void): () => void {
    this.#deviceListeners.add(listener);
    return () => this.#deviceListeners.delete(listener);
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
        await this.#listenControl(config);
        for (const listener of this.#storageWaitListeners) listener(reason);
      },
      onAvailableAgain: () => {
        this.#storageUnavailable = undefined;
        log.warn('Queue storage is available again; starting.');
      },
    });
  }

  async #listenControl(config: Config): Promise<void> {
    if (this.#control !== undefined || config.control.socket === '') return;
    this.#control = new ControlServer({
      runtime: this,
      socketPath: config.control.socket,
      group: config.control.group,
      log: this.#log.child({ component: 'control' }),
    });
    await this.#control.listen();
  }

  async #deliver(route: string, readings: Reading[]): Promise<void> {
    const parts = this.#routes.find((r) => r.name === route);
    if (parts !== undefined) await parts.queue.append(readings);
  }

  #lookupCommandTarget(id: string) {
    const entry = this.devices.get(id);
    const adapter = this.#adapters.find((a) => a.name === entry?.adapter)?.adapter;
    return entry === undefined || adapter === undefined ? undefined : { info: entry.info, target: adapter };
  }

  async #publishResult(
    cmd: Pick<DeviceCommand, 'id' | 'device' | 'route' | 'origin'>,
    result: CommandResult,
  ) {
    const route = this.#routes.find((r) => r.name === cmd.route);
    if (route === undefined) return; // a local command: the caller awaits the result itself
    await route.upstream.publishResult({ id: cmd.id, device: cmd.device, route: route.name }, result);
  }

  /**
   * A cloud command addressed by the device's name (`<commands>/living room`) as one addressed by its id,
   * as the CLI does. An id, an unknown name or one several devices share is left as it is: the router
   * answers what it cannot place `rejected`.
   */
  #byDeviceId(incoming: IncomingCommand): IncomingCommand {
    if (incoming.kind !== 'command' || this.devices.get(incoming.command.device) !== undefined)
      return incoming;
    let id: string | undefined;
    try {
      id = this.devices.resolve(incoming.command.device);
    } catch {
      return incoming;
    }
    return id === undefined ? incoming : { kind: 'command', command: { ...incoming.command, device: id } };
  }

  /** A `rejected` result for a command the route's intake refused; not through the router, so the id stays usable. */
  #answerRefused(upstream: Upstream, route: string, incoming: IncomingCommand, detail: string): void {
    const id = incomingId(incoming);
    const device = incoming.kind === 'command' ? incoming.command.device : incoming.device;
    const address = device === undefined ? { id, route } : { id, device, route };
    upstream.publishResult(address, { id, status: 'rejected', detail }).catch((e: unknown) => {
      this.#log.debug({ err: e, commandId: id, route }, 'Could not answer a refused command.');
    });
  }

  #adapterSinks() {
    return {
      emit: async (readings: Reading[]) => {
        this.devices.heard(readings);
        return this.#pipeline?.push(readings);
      },
      deviceChanged: (adapter: string, announced: Parameters<DeviceRegistry['upsert']>[1]) => {
        const stored = this.#names?.apply(announced) ?? announced;
        // A `devices:` entry keyed by a name applies to the device announced under that name.
        this.#announcedNames.set(stored.id, stored.name);
        this.#deviceSettings.announced(stored.id, stored.name);
        const configured = this.#deviceSettings.nameOf(stored.id);
        const info = configured === undefined ? stored : { ...stored, name: configured };
        const isNew = this.devices.get(info.id) === undefined;
        this.devices.upsert(adapter, info);
        if (isNew && this.#isAnnouncingJoins)
          this.#log.info({ device: info.id, adapter, model: info.model }, 'Device joined.');
        for (const listener of this.#deviceListeners) listener('changed', info);
        if (info.availability === 'online') this.#router?.deviceAwake(info.id);
        for (const route of this.#routes) route.upstream.onDeviceState?.(info);
      },
      deviceRemoved: (id: string) => {
        const entry = this.devices.get(id);
        this.devices.remove(id);
        if (entry !== undefined) this.#log.info({ device: id, adapter: entry.adapter }, 'Device left.');
        if (entry !== undefined)
          for (const listener of this.#deviceListeners) listener('removed', entry.info);
      },
      deviceAwake: (id: string) => this.#router?.deviceAwake(id),
    };
  }
}
