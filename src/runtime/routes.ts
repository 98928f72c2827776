import { CommandIntake } from '../commands/intake-limiter.js';
import { incomingId, type IncomingCommand } from '../commands/incoming.js';
import type { Config, RouteConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { CommandOrigin, CommandResult, DeviceCommand, Reading } from '../model.js';
import type { LevelQueueStore } from '../queue/level-store.js';
import type { Queue } from '../queue/queue.js';
import { Forwarder } from '../upstream/forwarder.js';
import { createUpstream } from '../upstream/registry.js';
import type { GatewayStatus, Upstream } from '../upstream/upstream.js';

/** Everything one route of the config is made of. */
export interface RouteParts {
  name: string;
  queue: Queue;
  upstream: Upstream;
  forwarder: Forwarder;
  intake: CommandIntake;
}

/** What a route needs from the rest of the gateway to be assembled. */
export interface RouteAssembly {
  store: LevelQueueStore;
  commands: Config['commands'];
  gatewayId: string;
  log: Logger;
  now: () => number;
  /** The gateway's status, for upstreams that report it to the cloud. */
  status: () => GatewayStatus;
  /** Hands a command the route received to the command router; settles when it is finished, never rejects. */
  submit: (incoming: IncomingCommand, from: { route: string; origin: CommandOrigin }) => Promise<unknown>;
}

/**
 * The routes of the config, each a queue, an upstream, the forwarder between them and the command intake
 * in front of the router. Built in config order; the forwarders start once the command router has.
 */
export class Routes {
  readonly #parts: RouteParts[] = [];

  get all(): readonly RouteParts[] {
    return this.#parts;
  }

  get(name: string): RouteParts | undefined {
    return this.#parts.find((r) => r.name === name);
  }

  names(): string[] {
    return this.#parts.map((r) => r.name);
  }

  /** Builds one route: its queue keyspace, its upstream (not yet connected), intake and forwarder. */
  async add(name: string, route: RouteConfig, from: RouteAssembly): Promise<void> {
    const { log, now } = from;
    const queue = await from.store.queue(name, { ttlMs: route.ttlMs });
    const upstream = await createUpstream(route.upstream, {
      gatewayId: from.gatewayId,
      route: name,
      log,
      status: from.status,
    });
    // Rate and in-flight bounds per route: a flood on the command topic costs counters, not memory.
    const intake = new CommandIntake({
      route: name,
      config: from.commands.intake,
      submit: (incoming) => from.submit(incoming, { route: name, origin: route.upstream.type }),
      answer: (incoming, detail) => answerRefused(upstream, name, incoming, detail, log),
      log: log.child({ component: 'commands' }),
      isConnected: () => upstream.isConnected,
      now,
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
      now,
    });
    this.#parts.push({ name, queue, upstream, forwarder, intake });
  }

  startForwarders(): void {
    for (const route of this.#parts) route.forwarder.start();
  }

  /** Stops every forwarder, letting an in-flight send finish within `graceMs`. */
  async stopForwarders(graceMs: number): Promise<void> {
    await Promise.all(this.#parts.map((r) => r.forwarder.stop(graceMs)));
  }

  stopIntakes(): void {
    for (const route of this.#parts) route.intake.stop();
  }

  /** The pipeline's output for one route, into its queue; resolves once durable. */
  async deliver(route: string, readings: Reading[]): Promise<void> {
    const parts = this.get(route);
    if (parts !== undefined) await parts.queue.append(readings);
  }

  /** A command's result, to the upstream the command came from. */
  async publishResult(
    cmd: Pick<DeviceCommand, 'id' | 'device' | 'route' | 'origin'>,
    result: CommandResult,
  ): Promise<void> {
    const route = cmd.route === undefined ? undefined : this.get(cmd.route);
    if (route === undefined) return; // a local command: the caller awaits the result itself
    await route.upstream.publishResult({ id: cmd.id, device: cmd.device, route: route.name }, result);
  }
}

/** A `rejected` result for a command the route's intake refused; not through the router, so the id stays usable. */
function answerRefused(
  upstream: Upstream,
  route: string,
  incoming: IncomingCommand,
  detail: string,
  log: Logger,
): void {
  const id = incomingId(incoming);
  const device = incoming.kind === 'command' ? incoming.command.device : incoming.device;
  const address = device === undefined ? { id, route } : { id, device, route };
  upstream.publishResult(address, { id, status: 'rejected', detail }).catch((e: unknown) => {
    log.debug({ err: e, commandId: id, route }, 'Could not answer a refused command.');
  });
}
