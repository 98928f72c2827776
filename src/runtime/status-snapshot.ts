import type { AdapterHost } from '../adapter-host.js';
import type { CommandRouter } from '../commands/router.js';
import type { Redactor } from '../config/redact.js';
import type { ControlStats } from '../control/control-stats.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import { DrainRate, drainEtaS } from '../health/drain-rate.js';
import { buildStatus, type ReloadStatus, type RouteStatus, type StatusSnapshot } from '../health/status.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { LevelQueueStore } from '../queue/level-store.js';
import type { RouteParts } from './routes.js';

/** The running parts a status snapshot reads; any of them may be absent while the gateway starts. */
export interface RuntimeParts {
  gatewayId: string;
  version: string;
  startedAt: number;
  adapters: readonly AdapterHost[];
  routes: readonly RouteParts[];
  store: LevelQueueStore | undefined;
  /** Why the queue storage cannot be opened, while start waits for it. */
  storageUnavailable: string | undefined;
  devices: DeviceRegistry;
  router: CommandRouter | undefined;
  pipeline: Pipeline | undefined;
  reload: ReloadStatus | undefined;
  livenessProblem: string | undefined;
  redactor: Redactor;
  control: ControlStats | undefined;
}

/**
 * Builds `fieldgate status` from the running parts. Keeps each route's recent send rate between snapshots,
 * for the backlog's drain ETA.
 */
export class StatusSnapshotter {
  readonly #drainRate = new DrainRate();

  snapshot(parts: RuntimeParts, now: number): StatusSnapshot {
    const store = parts.store;
    return buildStatus({
      gatewayId: parts.gatewayId,
      version: parts.version,
      startedAt: parts.startedAt,
      now,
      adapters: parts.adapters.map((a) => a.status()),
      routes: parts.routes.map((r) => this.#routeStatus(r, now)),
      quarantine: store?.quarantine,
      storageUnavailable: parts.storageUnavailable,
      storageRepair: store?.repair,
      storageEmptied: store?.emptied,
      storageBytes: store?.storageBytes() ?? 0,
      storageWrites: store?.writeHealth() ?? { state: 'ok' },
      devices: parts.devices.countByAvailability(),
      commands: parts.router?.stats(),
      pipeline: parts.pipeline?.stats(),
      reload: parts.reload,
      livenessProblem: parts.livenessProblem,
      redactor: parts.redactor,
      control: parts.control,
    });
  }

  #routeStatus(route: RouteParts, now: number): RouteStatus {
    const forwarder = route.forwarder.status();
    const queue = route.queue.stats();
    const perS = this.#drainRate.sample(route.name, forwarder.sentReadings, now);
    return {
      name: route.name,
      forwarder,
      queue,
      drainEtaS: drainEtaS(queue.depth, perS, forwarder.state === 'idle' || forwarder.state === 'sending'),
      commandIntake: route.intake.stats(),
    };
  }
}
