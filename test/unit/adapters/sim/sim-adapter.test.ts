import { afterEach, describe, expect, it } from 'vitest';
import type { Adapter } from '../../../../adapters/adapter.js';
import simDefinition from '../../../../adapters/sim/index.js';
import { isFieldgateError } from '../../../../src/errors.js';
import type { DeviceCommand, Reading } from '../../../../src/model.js';
import { RecordingContext, until } from './fake-context.js';

const started: Adapter[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.stop()));
});

/** Options as the config schema parses them, so the test follows the real shape and defaults. */
function simAdapter(options: Record<string, unknown>): Adapter {
  const adapter = simDefinition.create(options);
  started.push(adapter);
  return adapter;
}

async function startSim(options: Record<string, unknown>, ctx = new RecordingContext()) {
  const adapter = simAdapter(options);
  await adapter.start(ctx);
  return { adapter, ctx };
}

const command = (device: string, name: string, args: Record<string, unknown> = {}): DeviceCommand => ({
  id: `cmd-${name}`,
  device,
  name,
  args,
  origin: 'local',
});

const NOT_ASLEEP = { wakeIntervalMs: 3_600_000, fleet: { sleepy: 0 } };

function expectGapFreeSeqs(readings: readonly Reading[]): void {
  const byDevice = new Map<string, Reading[]>();
  for (const r of readings) byDevice.set(r.device, [...(byDevice.get(r.device) ?? []), r]);
  for (const [device, own] of byDevice) {
    expect(
      own.map((r) => r.seq),
      device,
    ).toEqual(own.map((_, i) => i + 1));
  }
}

describe('sim adapter', () => {
  it('names devices by kind with two digits, wider from 100 on, and announces them', async () => {
    const { adapter, ctx } = await startSim({
      reportIntervalMs: 3_600_000,
      fleet: { climate: 100, switch: 1, contact: 1, sleepy: 1 },
    });
    const ids = adapter.devices().map((d) => d.id);
    expect(ids).toContain('sim:climate-001');
    expect(ids).toContain('sim:climate-100');
    expect(ids).toEqual(expect.arrayContaining(['sim:switch-01', 'sim:contact-01', 'sim:sleepy-01']));
    expect(ids).toHaveLength(103);
    expect(ctx.changes.map((d) => d.id)).toEqual(ids);
    expect(ctx.states).toEqual(['running']);
  });

  it('reports every device on its interval with units, gateway timestamps and gap-free seqs from 1', async () => {
    const { ctx } = await startSim({ reportIntervalMs: 20, jitterMs: 5, ...NOT_ASLEEP });
    await until(() => ['climate-01', 'switch-01'].every((id) => ctx.readings(`sim:${id}`).length >= 3));
    const climate = ctx.readings('sim:climate-01')[0]!;
    expect(climate.ts).toBe(ctx.nowMs);
    expect(Object.keys(climate.values).sort()).toEqual(['humidity', 'pressure', 'temperature']);
    expect(climate.units).toEqual({ temperature: '°C', humidity: '%', pressure: 'hPa' });
    expect(ctx.readings('sim:switch-01')[0]!.units).toEqual({ power: 'W' });
    expect(ctx.readings('sim:contact-01')[0]!.values).toHaveProperty('contact');
    expectGapFreeSeqs(ctx.readings());
  });

  it('at full speed emits batches of batchSize back-to-back, one emit at a time', async () => {
    const ctx = new RecordingContext();
    let inFlight = 0;
    let maxInFlight = 0;
    ctx.onEmit = async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
    };
    await startSim(
      { reportIntervalMs: 0, batchSize: 25, fleet: { climate: 10, switch: 0, contact: 0, sleepy: 0 } },
      ctx,
    );
    await until(() => ctx.emits.length >= 20);
    expect(ctx.emits.every((batch) => batch.length === 25)).toBe(true);
    expect(maxInFlight).toBe(1);
    expectGapFreeSeqs(ctx.readings());
  });

  it('waits for a pending emit before emitting more (back-pressure)', async () => {
    const ctx = new RecordingContext();
    let release: () => void = () => undefined;
    ctx.onEmit = () => new Promise((resolve) => (release = resolve));
    await startSim({ reportIntervalMs: 0, batchSize: 5, ...NOT_ASLEEP }, ctx);
    await until(() => ctx.emits.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ctx.emits).toHaveLength(1);
    ctx.onEmit = () => Promise.resolve();
    release();
    await until(() => ctx.emits.length > 1);
  });

  it('repeats the same values for the same seed', async () => {
    const options = { reportIntervalMs: 0, batchSize: 10, seed: 42, ...NOT_ASLEEP };
    const first = await startSim(options);
    const second = await startSim(options);
    const values = (ctx: RecordingContext) =>
      ctx
        .readings('sim:climate-01')
        .slice(0, 20)
        .map((r) => r.values);
    await until(() => [first, second].every(({ ctx }) => ctx.readings('sim:climate-01').length >= 20));
    expect(values(first.ctx)).toEqual(values(second.ctx));
    const third = await startSim({ ...options, seed: 43 });
    await until(() => third.ctx.readings('sim:climate-01').length >= 20);
    expect(values(third.ctx)).not.toEqual(values(first.ctx));
  });

  it('switches on, off and toggles, emitting the new state at once', async () => {
    const { adapter, ctx } = await startSim({ reportIntervalMs: 3_600_000, ...NOT_ASLEEP });
    const states: unknown[] = [];
    for (const name of ['on', 'toggle', 'toggle', 'off']) {
      const result = await adapter.execute(command('sim:switch-01', name), new AbortController().signal);
      expect(result).toMatchObject({ id: `cmd-${name}`, status: 'ok' });
      states.push(result.data?.state);
    }
    expect(states).toEqual([true, false, true, false]);
    const reported = ctx.readings('sim:switch-01');
    expect(reported.map((r) => r.values.state)).toEqual(states);
    expect(reported.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(reported[0]!.values.power).toBeGreaterThan(1);
  });

  it('answers unknown commands with unsupported and unknown devices with rejected', async () => {
    const { adapter } = await startSim({ reportIntervalMs: 3_600_000, ...NOT_ASLEEP });
    const signal = new AbortController().signal;
    expect(await adapter.execute(command('sim:switch-01', 'dim'), signal)).toMatchObject({
      status: 'unsupported',
    });
    expect(await adapter.execute(command('sim:climate-01', 'on'), signal)).toMatchObject({
      status: 'unsupported',
    });
    expect(await adapter.execute(command('sim:nope-01', 'on'), signal)).toMatchObject({ status: 'rejected' });
  });

  it('describes commands in capabilities, with argument ranges', async () => {
    const { adapter } = await startSim({ reportIntervalMs: 3_600_000 });
    const byId = new Map(adapter.devices().map((d) => [d.id, d]));
    expect(byId.get('sim:switch-01')!.capabilities.commands.map((c) => c.name)).toEqual([
      'on',
      'off',
      'toggle',
    ]);
    expect(byId.get('sim:sleepy-01')!.capabilities.commands).toContainEqual({
      name: 'setInterval',
      args: { seconds: { type: 'number', min: 10, max: 3600 } },
    });
    expect(byId.get('sim:sleepy-01')).toMatchObject({ power: 'battery', availability: 'asleep' });
    expect(byId.get('sim:climate-01')).toMatchObject({ power: 'mains', availability: 'online' });
  });

  it('keeps a sleepy sensor unreachable while asleep, and reachable when it reports and calls deviceAwake', async () => {
    const ctx = new RecordingContext();
    const sleepy = 'sim:sleepy-01';
    let reachableOnWake: boolean | undefined;
    const fleet = { climate: 0, switch: 0, contact: 0, sleepy: 1 };
    const { adapter } = await startSim(
      { reportIntervalMs: 3_600_000, wakeIntervalMs: 150, awakeMs: 30, fleet },
      ctx,
    );
    ctx.onAwake = (id) => (reachableOnWake ??= adapter.isReachable(id));
    const signal = new AbortController().signal;

    expect(adapter.isReachable(sleepy)).toBe(false);
    expect(await adapter.execute(command(sleepy, 'identify'), signal)).toEqual({
      id: 'cmd-identify',
      status: 'failed',
      detail: 'device is asleep',
    });

    await until(() => ctx.awakened.length >= 3, 'three wake-ups');
    expect(reachableOnWake).toBe(true);
    expect(ctx.awakened.every((id) => id === sleepy)).toBe(true);
    // One report per wake-up; the next wake-up may not have reported yet at this instant.
    expect(ctx.readings(sleepy).length).toBe(ctx.awakened.length);
    expect(ctx.readings(sleepy)[0]!.units).toEqual({ temperature: '°C', battery: '%' });
    const availability = ctx.changes.filter((d) => d.id === sleepy).map((d) => d.availability);
    expect(availability.slice(0, 5)).toEqual(['asleep', 'online', 'asleep', 'online', 'asleep']);
  });

  it('runs setInterval and identify on an awake sleepy sensor and rejects an out-of-range interval', async () => {
    const ctx = new RecordingContext();
    const sleepy = 'sim:sleepy-01';
    const fleet = { climate: 0, switch: 0, contact: 0, sleepy: 1 };
    const { adapter } = await startSim(
      { reportIntervalMs: 3_600_000, wakeIntervalMs: 50, awakeMs: 40, fleet },
      ctx,
    );
    const results: Promise<unknown>[] = [];
    const signal = new AbortController().signal;
    // deviceAwake is where the command router delivers held commands: do the same.
    ctx.onAwake = (id) => {
      if (results.length > 0) return;
      results.push(
        adapter.execute(command(id, 'setInterval', { seconds: 5 }), signal),
        adapter.execute(command(id, 'identify'), signal),
        adapter.execute(command(id, 'setInterval', { seconds: 3600 }), signal),
      );
    };
    await until(() => results.length > 0, 'a wake-up');
    expect(await Promise.all(results)).toEqual([
      { id: 'cmd-setInterval', status: 'rejected', detail: 'seconds must be a number from 10 to 3600' },
      { id: 'cmd-identify', status: 'ok' },
      { id: 'cmd-setInterval', status: 'ok', data: { seconds: 3600 } },
    ]);
    // The hour-long interval applies from the next cycle: once asleep, the sensor stays asleep.
    await until(() => !adapter.isReachable(sleepy), 'falling asleep');
    const wakes = ctx.awakened.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ctx.awakened).toHaveLength(wakes);
  });

  it('emits nothing after stop() resolves', async () => {
    const { adapter, ctx } = await startSim({
      reportIntervalMs: 0,
      batchSize: 5,
      wakeIntervalMs: 20,
      awakeMs: 5,
    });
    await until(() => ctx.emits.length > 5);
    await adapter.stop();
    const emitted = ctx.emits.length;
    const awakened = ctx.awakened.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ctx.emits).toHaveLength(emitted);
    expect(ctx.awakened).toHaveLength(awakened);
    expect(ctx.states.at(-1)).toBe('stopped');
  });

  it('refuses options the schema would not have produced', () => {
    let error: unknown;
    try {
      simDefinition.create({ fleet: { climate: -1 } });
    } catch (e) {
      error = e;
    }
    expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
  });
});
