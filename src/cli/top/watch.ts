import type { StatusSnapshot } from '../../health/status.js';
import type { DeviceInfo, Reading } from '../../model.js';

/** How many backlog samples a route's sparkline keeps: one a second, the last two minutes. */
export const BACKLOG_SAMPLES = 120;
/** The window over which devices are ranked by readings. */
export const BUSY_WINDOW_MS = 60_000;
/** How many readings the tail view keeps. */
export const TAIL_LINES = 200;

/** One route as `fieldgate top` shows it: what the daemon said, and what top derived from its samples. */
export interface RouteView {
  name: string;
  connected: boolean;
  /** The forwarder's state word (`idle`, `sending`, `backoff`, …). */
  state: string;
  /** Epoch ms since when the link is in its current state (connected or not); undefined when unknown. */
  since: number | undefined;
  lastError: string | undefined;
  /** Delivered readings per second since the previous sample; undefined until two samples exist. */
  deliveredPerS: number | undefined;
  backlog: number;
  backlogBytes: number;
  /** Backlog depth, oldest first, one sample per refresh. */
  backlogHistory: number[];
  drainEtaS: number | null;
  /** Units the cloud bills for this route today (UTC), when the upstream meters them. */
  billedToday: number | undefined;
  deadLetters: number;
}

export interface AdapterView {
  name: string;
  type: string;
  state: string;
  detail: string | undefined;
  online: number;
  total: number;
  droppedFrames: number;
}

export interface DeviceActivity {
  id: string;
  name: string | undefined;
  availability: string;
  lastSeen: number;
  /** Readings seen on the live tail in the last minute. */
  perMinute: number;
}

/** Everything one frame of `fieldgate top` needs. */
export interface TopView {
  now: number;
  status: StatusSnapshot | undefined;
  /** Why the daemon did not answer the last poll; undefined while it answers. */
  unreachable: string | undefined;
  routes: RouteView[];
  adapters: AdapterView[];
  devices: DeviceActivity[];
  tail: readonly Reading[];
  /** Readings the daemon did not send this viewer because it read too slowly. */
  tailDropped: number;
}

interface RouteMemory {
  sentReadings: number;
  at: number;
  backlog: number[];
  deliveredPerS: number | undefined;
}

/**
 * What `fieldgate top` remembers between refreshes: backlog history and delivery rates per route, and the readings of the last minute per device. Fed by polls and the live tail;
 * pure (time comes in with each call), so it is tested without a daemon.
 */
export class TopWatch {
  readonly #routes = new Map<string, RouteMemory>();
  #status: StatusSnapshot | undefined;
  #devices: DeviceInfo[] = [];
  #unreachable: string | undefined;
  /** Receive times of tail readings per device, oldest first, pruned to the busy window. */
  readonly #heard = new Map<string, number[]>();
  readonly #tail: Reading[] = [];
  #tailDropped = 0;

  /** A status and device list polled at `now`. */
  observe(status: StatusSnapshot, devices: DeviceInfo[], now: number): void {
    this.#status = status;
    this.#devices = devices;
    this.#unreachable = undefined;
    const seen = new Set<string>();
    for (const route of status.routes) {
      seen.add(route.name);
      const previous = this.#routes.get(route.name);
      const memory: RouteMemory = previous ?? {
        sentReadings: route.forwarder.sentReadings,
        at: now,
        backlog: [],
        deliveredPerS: undefined,
      };
      if (previous !== undefined) {
        const seconds = (now - previous.at) / 1000;
        if (seconds > 0) {
          memory.deliveredPerS = Math.max(0, route.forwarder.sentReadings - previous.sentReadings) / seconds;
        }
        memory.sentReadings = route.forwarder.sentReadings;
        memory.at = now;
      }
      memory.backlog.push(route.queue.depth);
      if (memory.backlog.length > BACKLOG_SAMPLES) memory.backlog.shift();
      this.#routes.set(route.name, memory);
    }
    for (const name of this.#routes.keys()) if (!seen.has(name)) this.#routes.delete(name);
  }

  /** The poll failed: the daemon is down or not answering. The last picture stays, marked stale. */
  lost(reason: string): void {
    this.#unreachable = reason;
  }

  /** A reading from the live tail, received at `now`. */
  heard(reading: Reading, now: number): void {
    const times = this.#heard.get(reading.device) ?? [];
    times.push(now);
    this.#heard.set(reading.device, times);
    this.#tail.push(reading);
    if (this.#tail.length > TAIL_LINES) this.#tail.shift();
  }

  /** The daemon dropped `count` tail readings for this viewer. */
  tailDropped(count: number): void {
    this.#tailDropped += count;
  }

  view(now: number): TopView {
    this.#prune(now);
    const status = this.#status;
    return {
      now,
      status,
      unreachable: this.#unreachable,
      routes: (status?.routes ?? []).map((route) => {
        const memory = this.#routes.get(route.name);
        const f = route.forwarder;
        const connected = f.state === 'idle' || f.state === 'sending';
        return {
          name: route.name,
          connected,
          state: f.state,
          since: connected ? f.connectedSince : f.offlineSince,
          lastError: f.lastError,
          deliveredPerS: memory?.deliveredPerS,
          backlog: route.queue.depth,
          backlogBytes: route.queue.bytes,
          backlogHistory: [...(memory?.backlog ?? [])],
          drainEtaS: route.drainEtaS,
          billedToday: f.billing?.billedUnitsToday,
          deadLetters: route.queue.deadLetters,
        };
      }),
      adapters: (status?.adapters ?? []).map((adapter) => {
        const own = this.#devices.filter((d) => d.adapter === adapter.name);
        return {
          name: adapter.name,
          type: adapter.type,
          state: adapter.state,
          detail: adapter.detail,
          online: own.filter((d) => d.availability === 'online').length,
          total: own.length,
          droppedFrames: Object.values(adapter.droppedFrames ?? {}).reduce((sum, n) => sum + n, 0),
        };
      }),
      devices: this.#devices.map((d) => ({
        id: d.id,
        name: d.name,
        availability: d.availability,
        lastSeen: d.lastSeen,
        perMinute: this.#heard.get(d.id)?.length ?? 0,
      })),
      tail: [...this.#tail],
      tailDropped: this.#tailDropped,
    };
  }

  #prune(now: number): void {
    for (const [device, times] of this.#heard) {
      while (times.length > 0 && (times[0] ?? now) <= now - BUSY_WINDOW_MS) times.shift();
      if (times.length === 0) this.#heard.delete(device);
    }
  }
}

/** Devices ranked by readings in the last minute, the busiest first; those with none are left out. */
export function busiest(devices: readonly DeviceActivity[], limit: number): DeviceActivity[] {
  return devices
    .filter((d) => d.perMinute > 0)
    .sort((a, b) => b.perMinute - a.perMinute || a.id.localeCompare(b.id))
    .slice(0, limit);
}

/**
 * Devices that went quiet most recently: heard at least once, offline now or silent for a minute (a sleepy
 * sensor between reports shows here too, with how long it has been), the latest to fall silent first. An operator looks here for "what just stopped".
 */
export function recentlySilent(
  devices: readonly DeviceActivity[],
  now: number,
  limit: number,
): DeviceActivity[] {
  return devices
    .filter((d) => d.lastSeen > 0 && (d.availability === 'offline' || now - d.lastSeen >= BUSY_WINDOW_MS))
    .sort((a, b) => b.lastSeen - a.lastSeen || a.id.localeCompare(b.id))
    .slice(0, limit);
}
