import { describe, expect, it } from 'vitest';
import { renderFrame, sparkline } from '../../../src/cli/top/render.js';
import { TopWatch, busiest, recentlySilent } from '../../../src/cli/top/watch.js';
import type { StatusSnapshot } from '../../../src/health/status.js';
import type { DeviceInfo, Reading } from '../../../src/model.js';

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);

function status(
  overrides: { sent?: number; depth?: number; state?: string; offlineSince?: number } = {},
): StatusSnapshot {
  const state = overrides.state ?? 'idle';
  const connected = state === 'idle' || state === 'sending';
  return {
    gateway: 'gw-1',
    version: '1.2.3',
    uptimeS: 245,
    healthy: connected,
    problems: connected ? [] : ['route cloud: offline for 12s'],
    adapters: [
      {
        name: 'sim',
        type: 'sim',
        state: 'running',
        since: T0,
        readings: 100,
        droppedFrames: { truncated: 2, badLength: 1 },
      },
    ],
    routes: [
      {
        name: 'cloud',
        forwarder: {
          route: 'cloud',
          state,
          sentMessages: 10,
          sentReadings: overrides.sent ?? 100,
          failures: 0,
          rejected: 0,
          billing: {
            billedUnits: 5000,
            day: '2026-12-06',
            billedUnitsToday: 1234,
            operations: { d2c: 1234 },
          },
          ...(connected
            ? { connectedSince: T0 - 245_000 }
            : {
                offlineSince: overrides.offlineSince ?? T0 - 12_000,
                lastError: 'connect ECONNREFUSED 127.0.0.1:1883',
              }),
        },
        queue: {
          depth: overrides.depth ?? 0,
          bytes: (overrides.depth ?? 0) * 100,
          oldestAgeMs: 0,
          dropped: {},
          deadLetters: 3,
        },
        drainEtaS: (overrides.depth ?? 0) === 0 ? 0 : null,
      },
    ],
    storage: { bytes: 1000 },
    devices: { online: 1, offline: 1, asleep: 0, unknown: 0 },
    commands: null,
    pipeline: null,
    reload: null,
    restartRequired: [],
  } as unknown as StatusSnapshot;
}

function device(id: string, availability: DeviceInfo['availability'], lastSeen: number): DeviceInfo {
  return {
    id,
    adapter: 'sim',
    capabilities: { values: [], commands: [] },
    availability,
    lastSeen,
    power: 'mains',
  };
}

const reading = (device: string, ts: number): Reading => ({ device, ts, values: { temperature: 21.5 } });

const plain = { columns: 80, rows: 24, color: false, unicode: true };

describe('fieldgate top: what it derives between refreshes', () => {
  it('computes delivered readings per second from two polls and keeps the backlog history', () => {
    const watch = new TopWatch();
    watch.observe(status({ sent: 100, depth: 0 }), [], T0);
    expect(watch.view(T0).routes[0]?.deliveredPerS).toBeUndefined();
    watch.observe(status({ sent: 150, depth: 5 }), [], T0 + 2000);
    const route = watch.view(T0 + 2000).routes[0];
    expect(route?.deliveredPerS).toBe(25);
    expect(route?.backlogHistory).toEqual([0, 5]);
  });

  it('ranks devices by readings of the last minute and forgets older ones', () => {
    const watch = new TopWatch();
    const devices = [device('sim:a', 'online', T0), device('sim:b', 'online', T0)];
    watch.observe(status(), devices, T0);
    for (let i = 0; i < 3; i += 1) watch.heard(reading('sim:b', T0), T0);
    watch.heard(reading('sim:a', T0), T0 + 30_000);
    expect(busiest(watch.view(T0 + 30_000).devices, 5).map((d) => [d.id, d.perMinute])).toEqual([
      ['sim:b', 3],
      ['sim:a', 1],
    ]);
    expect(busiest(watch.view(T0 + 61_000).devices, 5).map((d) => d.id)).toEqual(['sim:a']);
  });

  it('lists the devices that fell silent most recently first, offline ones at once', () => {
    const devices = [
      { id: 'sim:old', name: undefined, availability: 'offline', lastSeen: T0 - 600_000, perMinute: 0 },
      { id: 'sim:just', name: undefined, availability: 'offline', lastSeen: T0 - 5_000, perMinute: 0 },
      { id: 'sim:fine', name: undefined, availability: 'online', lastSeen: T0 - 1_000, perMinute: 4 },
      { id: 'sim:never', name: undefined, availability: 'unknown', lastSeen: 0, perMinute: 0 },
    ];
    expect(recentlySilent(devices, T0, 5).map((d) => d.id)).toEqual(['sim:just', 'sim:old']);
  });
});

describe('fieldgate top: the frame', () => {
  it('fits 80×24 and shows the route link, rate, backlog with its drain ETA, billed units and adapters', () => {
    const watch = new TopWatch();
    watch.observe(
      status({ sent: 100 }),
      [device('sim:a', 'online', T0), device('sim:b', 'offline', T0 - 5000)],
      T0,
    );
    watch.observe(
      status({ sent: 110 }),
      [device('sim:a', 'online', T0), device('sim:b', 'offline', T0 - 5000)],
      T0 + 1000,
    );
    const lines = renderFrame(watch.view(T0 + 1000), 'overview', plain);
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    const text = lines.join('\n');
    expect(text).toContain('gateway gw-1');
    expect(text).toContain('healthy');
    expect(text).toMatch(
      /cloud {2}connected for 4m06s {2}10 readings\/s delivered {2}1,234 billed units today/,
    );
    expect(text).toMatch(/backlog 0 \(0 B\) .* empty/);
    expect(text).toContain('sim (sim)  running  1/2 online  3 frames dropped');
    expect(text).toMatch(/sim:b {2}silent 6s \(offline\)/);
    expect(lines.at(-1)).toContain('q quit');
    expect(text).not.toContain('\u001b[');
  });

  it('shows an outage: state, how long, the reason, a growing backlog that is not draining', () => {
    const watch = new TopWatch();
    watch.observe(status({ state: 'backoff', depth: 10, offlineSince: T0 - 12_000 }), [], T0);
    watch.observe(status({ state: 'backoff', depth: 40, offlineSince: T0 - 12_000 }), [], T0 + 1000);
    const text = renderFrame(watch.view(T0 + 1000), 'overview', plain).join('\n');
    expect(text).toContain('NOT healthy');
    expect(text).toMatch(
      /cloud {2}backoff for 13s {2}0\.0 readings\/s delivered.*\n.*\n {4}‼ connect ECONNREFUSED 127\.0\.0\.1:1883/,
    );
    expect(text).toMatch(/backlog 40 \(4\.0 kB\) {2}▃█ peak 40 {2}not draining/);
    expect(text).toContain('‼ route cloud: offline for 12s');
  });

  it('keeps the last picture and says so when the daemon stops answering', () => {
    const watch = new TopWatch();
    watch.observe(status(), [], T0);
    watch.lost('cannot reach the daemon at /run/fieldgate/control.sock (ENOENT)');
    const text = renderFrame(watch.view(T0 + 1000), 'overview', plain).join('\n');
    expect(text).toContain('the daemon stopped answering: cannot reach the daemon');
    expect(text).toContain('cloud');
  });

  it('colours only when asked, and never past the width', () => {
    const watch = new TopWatch();
    watch.observe(status(), [], T0);
    expect(renderFrame(watch.view(T0), 'overview', { ...plain, color: true }).join('\n')).toContain(
      '\u001b[32mhealthy',
    );
    const coloured = renderFrame(watch.view(T0), 'overview', { ...plain, color: true, columns: 40 });
    // eslint-disable-next-line no-control-regex
    for (const line of coloured) expect(line.replace(/\u001b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(40);
  });

  it('lists devices and the live tail on their screens, each within the rows', () => {
    const watch = new TopWatch();
    const devices = Array.from({ length: 40 }, (_, i) =>
      device(`sim:d${String(i).padStart(2, '0')}`, 'online', T0),
    );
    watch.observe(status(), devices, T0);
    for (let i = 0; i < 50; i += 1) watch.heard(reading('sim:d01', T0 + i), T0 + i);
    const list = renderFrame(watch.view(T0 + 100), 'devices', plain);
    expect(list.length).toBe(24);
    expect(list.join('\n')).toMatch(/DEVICE +NAME +STATE +LAST SEEN +\/MIN/);
    expect(list.join('\n')).toMatch(/… \d+ more/);
    const tail = renderFrame(watch.view(T0 + 100), 'tail', plain);
    expect(tail.length).toBeLessThanOrEqual(24);
    expect(tail.join('\n')).toContain('sim:d01  temperature=21.5');
  });

  it('draws sparklines scaled to their peak, in ASCII where the terminal is not UTF-8', () => {
    expect(sparkline([0, 1, 2, 4, 8], 10, true)).toBe('▁▂▃▅█');
    expect(sparkline([0, 0, 0], 10, true)).toBe('▁▁▁');
    expect(sparkline([0, 4, 8], 2, false)).toBe('=#');
  });
});
