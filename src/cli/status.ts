import type { Command } from 'commander';
import { controlRequest } from '../control/client.js';
import type { RouteStatus, StatusSnapshot } from '../health/status.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';
import { formatBytes, formatDuration, paint, printJson } from './output.js';

/** `fieldgate status` exits with this while the daemon answers but reports problems. */
export const STATUS_NOT_HEALTHY_EXIT = 1;

/** `fieldgate status`: health, adapters, routes and queues at a glance. */
export function registerStatus(program: Command): void {
  daemonOptions(
    program.command('status').description('health, adapters, routes and queues at a glance'),
  ).action(async (options: ReadOptions) => {
    const status = await controlRequest<StatusSnapshot>(await resolveSocket(options), 'GET', '/v1/status');
    if (options.json === true) printJson(status);
    else process.stdout.write(`${renderStatus(status, Date.now())}\n`);
    // Scripts and probes read the exit code: 0 healthy, 1 running but not healthy (the problems are listed),
    // 69 nothing answers on the socket (FG_DAEMON_UNREACHABLE, thrown above).
    if (!status.healthy) process.exitCode = STATUS_NOT_HEALTHY_EXIT;
  });
}

/** The human view of a status snapshot. */
export function renderStatus(status: StatusSnapshot, now: number): string {
  const health = status.healthy ? paint('healthy', 'ok') : paint('NOT healthy', 'bad');
  const devices = Object.entries(status.devices)
    .filter(([, n]) => n > 0)
    .map(([availability, n]) => `${n} ${availability}`)
    .join(', ');
  const lines = [
    `fieldgate ${status.version} · gateway ${status.gateway} · up ${formatDuration(status.uptimeS)} · ${health}`,
    ...status.problems.map((p) => paint(`  ‼ ${p}`, 'warn')),
    ...status.restartRequired.map((key) => paint(`  ‼ restart required: ${key}`, 'warn')),
    '',
    'adapters',
    ...status.adapters.map(
      (a) =>
        `  ${a.name} (${a.type})  ${a.state}${a.detail === undefined ? '' : ` — ${a.detail}`}  ${a.readings} readings${renderDroppedFrames(a.droppedFrames)}`,
    ),
    `devices  ${devices === '' ? 'none' : devices}`,
    '',
    'routes',
    ...status.routes.flatMap((r) => renderRoute(r, now)),
    '',
    `storage  ${formatBytes(status.storage.bytes)}${status.storage.quarantine === null ? '' : ' (a corrupt database was quarantined)'}`,
    ...renderControl(status.control),
  ];
  return lines.join('\n');
}

/** `control  3 connections (cap 256), 0 refused · tail 1 client, 0 readings dropped, 0 cut`. */
function renderControl(control: StatusSnapshot['control']): string[] {
  if (control === undefined || control === null) return [];
  const t = control.tail;
  return [
    `control  ${control.connections} connections (cap ${control.maxConnections}), ${control.refusedConnections} refused` +
      ` · tail ${t.clients} clients, ${t.droppedReadings} readings dropped, ${t.cutClients} cut`,
  ];
}

/** `, 3 frames dropped (2 truncated, 1 badLength)`, or nothing while the adapter dropped none. */
function renderDroppedFrames(dropped: Record<string, number> | undefined): string {
  const reasons = Object.entries(dropped ?? {}).filter(([, n]) => n > 0);
  if (reasons.length === 0) return '';
  const total = reasons.reduce((sum, [, n]) => sum + n, 0);
  return `, ${total} frames dropped (${reasons.map(([reason, n]) => `${n} ${reason}`).join(', ')})`;
}

function renderRoute(r: RouteStatus, now: number): string[] {
  const f = r.forwarder;
  const q = r.queue;
  const link =
    f.state === 'idle' || f.state === 'sending'
      ? paint('connected', 'ok')
      : f.offlineSince !== undefined
        ? paint(`${f.state}, offline for ${formatDuration((now - f.offlineSince) / 1000)}`, 'bad')
        : f.state;
  const dropped = Object.entries(q.dropped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`);
  const eta =
    r.drainEtaS === null
      ? 'not draining'
      : r.drainEtaS === 0
        ? 'empty'
        : `drains in ~${formatDuration(r.drainEtaS)}`;
  return [
    `  ${r.name}  ${link}${f.lastError === undefined || f.state === 'idle' ? '' : ` — ${f.lastError}`}`,
    `    backlog ${q.depth} readings / ${formatBytes(q.bytes)}, oldest ${formatDuration(q.oldestAgeMs / 1000)}, ${eta}`,
    `    sent ${f.sentReadings} readings in ${f.sentMessages} messages, dropped ${dropped.length === 0 ? 0 : dropped.join(', ')}, dead letters ${q.deadLetters}`,
    ...renderIntake(r),
    ...renderBilling(r),
  ];
}

/** `billed 12 units today (2024-10-04 UTC), 340 since start: d2c 300, twinRead 2`, for a metered route. */
function renderBilling(r: RouteStatus): string[] {
  const b = r.forwarder.billing;
  if (b === undefined) return [];
  const operations = Object.entries(b.operations)
    .filter(([, n]) => n > 0)
    .map(([operation, n]) => `${operation} ${n}`);
  return [
    `    billed ${b.billedUnitsToday} units today (${b.day} UTC), ${b.billedUnits} since start` +
      (operations.length === 0 ? '' : `: ${operations.join(', ')}`),
  ];
}

/** `commands 12 taken, 3,400 refused (3,390 rate, 10 invalid)`, or nothing while none was refused. */
function renderIntake(r: RouteStatus): string[] {
  const intake = r.commandIntake;
  if (intake === undefined) return [];
  const reasons = Object.entries(intake.refused).filter(([, n]) => n > 0);
  if (reasons.length === 0) return [];
  const total = reasons.reduce((sum, [, n]) => sum + n, 0);
  const detail = reasons.map(([reason, n]) => `${n} ${reason}`).join(', ');
  return [`    commands ${intake.admitted} taken, ${total} refused (${detail})`];
}
