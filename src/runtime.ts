import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AdapterHost } from './adapter-host.js';
import { LevelCommandStore } from './commands/command-store.js';
import { CommandRouter } from './commands/router.js';
import type { Config } from './config/schema.js';
import { ControlServer } from './control/server.js';
import { DeviceRegistry } from './devices/device-registry.js';
import { startMqttBroker } from './emulator/mqtt/broker.js';
import type { Logger } from './logger.js';
import type { CommandResult, DeviceCommand, Reading } from './model.js';
import { compileMatch } from './pipeline/match.js';
import { Pipeline, buildStages } from './pipeline/pipeline.js';
import { LevelQueueStore } from './queue/level-store.js';
import type { Queue } from './queue/queue.js';
import { Forwarder } from './upstream/forwarder.js';
import { createUpstream } from './upstream/registry.js';
import type { Upstream } from './upstream/upstream.js';
import { buildStatus, type StatusSnapshot } from './health/status.js';
import { TailHub } from './health/tail.js';

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  version: string;
  now?: () => number;
  /** How long stop() lets an in-flight send finish. */
  stopGraceMs?: number;
}

interface RouteParts {
  name: string;
  queue: Queue;
  upstream: Upstream;
  forwarder: Forwarder;
}

/**
 * The one composition root (DESIGN.md §2): builds every component from the config, wires them, starts them
 * in dependency order — queue, forwarders (never waiting for the cloud), pipeline, adapters — and stops them
 * in reverse.
 */
export class Runtime {
  readonly gatewayId: string;
  readonly devices = new DeviceRegistry();
  readonly tail = new TailHub();
  readonly startedAt: number;
  #store: LevelQueueStore | undefined;
  #routes: RouteParts[] = [];
  #pipeline: Pipeline | undefined;
  #router: CommandRouter | undefined;
  #adapters: AdapterHost[] = [];
  #control: ControlServer | undefined;
  #closeBroker: (() => Promise<void>) | undefined;
  readonly #now: () => number;
  readonly #log: Logger;

  constructor(private readonly options: RuntimeOptions) {
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
    this.gatewayId = options.config.gateway.id ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-');
    this.startedAt = this.#now();
  }

  get config(): Config {
    return this.options.config;
  }

  async start(): Promise<void> {
    const { config } = this.options;
    const log = this.#log;
    await mkdir(config.gateway.stateDir, { recursive: true });

    if (config.emulators.mqtt.enabled) {
      const broker = await startMqttBroker({
        ...config.emulators.mqtt,
        log: log.child({ component: 'emulator' }),
      });
      this.#closeBroker = () => broker.close();
    }

    this.#store = await LevelQueueStore.open({
      dir: path.join(config.gateway.stateDir, 'queue'),
      ...config.queue,
      log: log.child({ component: 'queue' }),
      now: this.#now,
    });

    this.#router = new CommandRouter({
      store: new LevelCommandStore(this.#store.sublevel('commands')),
      lookup: (id) => this.#lookupCommandTarget(id),
      publishResult: (cmd, result) => this.#publishResult(cmd, result),
      config: config.commands,
      log: log.child({ component: 'commands' }),
      now: this.#now,
    });

    for (const [name, route] of Object.entries(config.routes)) {
      const queue = await this.#store.queue(name, { ttlMs: route.ttlMs });
      const upstream = await createUpstream(route.upstream, {
        gatewayId: this.gatewayId,
        route: name,
        log,
      });
      upstream.onCommand((incoming) => {
        void this.#router?.submit(incoming, { route: name, origin: route.upstream.type });
      });
      const forwarder = new Forwarder({
        route: name,
        queue,
        upstream,
        batch: route.batch,
        drain: route.drain,
        liveShare: route.liveShare,
        backoff: route.backoff,
        log,
        now: this.#now,
      });
      this.#routes.push({ name, queue, upstream, forwarder });
    }
    await this.#router.start();
    for (const route of this.#routes) route.forwarder.start();

    this.#pipeline = new Pipeline({
      stages: buildStages(config.pipeline),
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

    if (config.control.socket !== '') {
      this.#control = new ControlServer({
        runtime: this,
        socketPath: config.control.socket,
        log: log.child({ component: 'control' }),
      });
      await this.#control.listen();
    }

    for (const [name, adapterConfig] of Object.entries(config.adapters)) {
      if (!adapterConfig.enabled) continue;
      const host = new AdapterHost(name, adapterConfig, this.#adapterSinks(), {
        stateDir: config.gateway.stateDir,
        log,
        now: this.#now,
      });
      this.#adapters.push(host);
    }
    await Promise.all(this.#adapters.map((a) => a.start()));
    log.info(
      { gateway: this.gatewayId, adapters: this.#adapters.length, routes: this.#routes.length },
      'fieldgate started.',
    );
  }

  /** Stop in reverse order: adapters, pipeline (final flush), forwarders (grace), router, queue, emulator. */
  async stop(): Promise<void> {
    const grace = this.options.stopGraceMs ?? 5000;
    await Promise.all(this.#adapters.map((a) => a.stop()));
    await this.#control?.close();
    await this.#pipeline?.stop();
    await Promise.all(this.#routes.map((r) => r.forwarder.stop(grace)));
    await this.#router?.stop();
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
    return buildStatus({
      gatewayId: this.gatewayId,
      version: this.options.version,
      startedAt: this.startedAt,
      now: this.#now(),
      adapters: this.#adapters.map((a) => a.status()),
      routes: this.#routes.map((r) => ({
        name: r.name,
        forwarder: r.forwarder.status(),
        queue: r.queue.stats(),
      })),
      quarantine: this.#store?.quarantine,
      storageBytes: this.#store?.storageBytes() ?? 0,
      devices: this.devices.countByAvailability(),
      commands: this.#router?.stats(),
      pipeline: this.#pipeline?.stats(),
    });
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

  #adapterSinks() {
    return {
      emit: async (readings: Reading[]) => this.#pipeline?.push(readings),
      deviceChanged: (adapter: string, info: Parameters<DeviceRegistry['upsert']>[1]) => {
        this.devices.upsert(adapter, info);
        if (info.availability === 'online') this.#router?.deviceAwake(info.id);
      },
      deviceRemoved: (id: string) => {
        this.devices.remove(id);
      },
      deviceAwake: (id: string) => this.#router?.deviceAwake(id),
    };
  }
}
