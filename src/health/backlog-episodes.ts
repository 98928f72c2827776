/** A backlog worth a line: one that takes at least this long to send at the recent rate. */
export const BACKLOG_MIN_ETA_S = 30;
/** Drained: empty, or what is left goes out within a couple of seconds (live traffic keeps a few queued). */
export const BACKLOG_DRAINED_ETA_S = 2;

/** What one route looks like in a status sample. */
export interface RouteBacklog {
  name: string;
  queue: { depth: number };
  /** Seconds to send the backlog at the recent rate; 0 when empty, null when nothing moves. */
  drainEtaS: number | null;
}

export type BacklogEvent =
  | { kind: 'draining'; route: string; depth: number; etaS: number }
  | { kind: 'drained'; route: string; tookS: number };

/**
 * Turns status samples into one "draining" line per backlog episode (once the backlog moves and its ETA is
 * known) and one "drained" line when the queue is empty again. A backlog that stalls (the upstream drops
 * again) stays the same episode: no second "draining" line until it has drained.
 */
export class BacklogEpisodes {
  /** Routes with an announced backlog, and when it was announced (epoch ms). */
  readonly #draining = new Map<string, number>();

  observe(routes: readonly RouteBacklog[], now: number): BacklogEvent[] {
    const events: BacklogEvent[] = [];
    for (const route of routes) {
      const since = this.#draining.get(route.name);
      if (since === undefined) {
        if (route.drainEtaS !== null && route.drainEtaS >= BACKLOG_MIN_ETA_S) {
          this.#draining.set(route.name, now);
          events.push({
            kind: 'draining',
            route: route.name,
            depth: route.queue.depth,
            etaS: route.drainEtaS,
          });
        }
      } else if (
        route.queue.depth === 0 ||
        (route.drainEtaS !== null && route.drainEtaS <= BACKLOG_DRAINED_ETA_S)
      ) {
        this.#draining.delete(route.name);
        events.push({ kind: 'drained', route: route.name, tookS: Math.round((now - since) / 1000) });
      }
    }
    return events;
  }
}
