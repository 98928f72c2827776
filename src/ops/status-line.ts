import type { StatusSnapshot } from '../health/status.js';

/**
 * The one-line `STATUS=` systemd shows in `systemctl status`, e.g.
 * `local: connected · 14 devices · backlog 0 · restart required`.
 */
export function statusLine(status: StatusSnapshot): string {
  const routes = status.routes.map((r) => {
    const state =
      r.forwarder.state === 'idle' || r.forwarder.state === 'sending' ? 'connected' : r.forwarder.state;
    return `${r.name}: ${state}`;
  });
  const devices = Object.values(status.devices).reduce((a, b) => a + b, 0);
  const backlog = status.routes.reduce((sum, r) => sum + r.queue.depth, 0);
  const parts = [...routes, `${devices} devices`, `backlog ${backlog}`];
  if (status.restartRequired.length > 0) parts.push('restart required');
  if (!status.healthy) parts.push(`${status.problems.length} problem(s)`);
  return parts.join(' · ');
}
