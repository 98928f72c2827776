import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  CommandIntake,
  FLOOD_QUIET_MS,
  REFUSAL_ANSWERS_PER_S,
  type IntakeConfig,
  type IntakeTimers,
} from '../../../src/commands/intake-limiter.js';
import { createLogger } from '../../../src/logger.js';
import type { IncomingCommand } from '../../../src/upstream/upstream.js';

/** A clock and timers the test moves by hand. */
class FakeTime implements IntakeTimers {
  now = 1_000_000;
  #timers: { at: number; fn: () => void; handle: number }[] = [];
  #next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this.#next++;
    this.#timers.push({ at: this.now + ms, fn, handle });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.handle !== handle);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.now = due.at;
      due.fn();
    }
    this.now = until;
  }
}

interface LogLine {
  level: number;
  msg: string;
  refused?: number;
}

function setup(config: Partial<IntakeConfig> = {}, connection = { isConnected: true }) {
  const time = new FakeTime();
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      callback();
    },
  });
  const submitted: IncomingCommand[] = [];
  const unfinished: (() => void)[] = [];
  const answered: { id: string; detail: string }[] = [];
  const intake = new CommandIntake({
    route: 'cloud',
    config: { ratePerS: 10, burst: 20, maxInFlight: 1000, ...config },
    submit: (incoming) => {
      submitted.push(incoming);
      return new Promise<void>((resolve) => unfinished.push(resolve));
    },
    answer: (incoming, detail) =>
      answered.push({ id: incoming.kind === 'command' ? incoming.command.id : incoming.id, detail }),
    log: createLogger({ level: 'debug', destination }),
    isConnected: () => connection.isConnected,
    now: () => time.now,
    timers: time,
  });
  const warns = () => lines.filter((l) => l.level === 40);
  return { time, intake, submitted, unfinished, answered, lines, warns };
}

const command = (n: number): IncomingCommand => ({
  kind: 'command',
  command: { id: `c-${n}`, device: 'sim:switch-01', name: 'on', args: {}, origin: 'mqtt' },
});

describe('CommandIntake', () => {
  it('takes a burst at once, then the sustained rate, and refuses the rest by reason "rate"', () => {
    const { time, intake, submitted } = setup({ ratePerS: 10, burst: 20 });
    for (let i = 0; i < 50; i++) intake.offer(command(i));
    expect(submitted).toHaveLength(20);
    time.advance(1000);
    for (let i = 50; i < 100; i++) intake.offer(command(i));
    expect(submitted).toHaveLength(30);
    expect(intake.stats()).toMatchObject({ admitted: 30, refused: { rate: 70, inFlight: 0 } });
  });

  it('refuses by reason "inFlight" while maxInFlight submissions are unfinished, and takes more once they finish', async () => {
    const { intake, submitted, unfinished } = setup({ ratePerS: 1000, burst: 1000, maxInFlight: 3 });
    for (let i = 0; i < 5; i++) intake.offer(command(i));
    expect(submitted).toHaveLength(3);
    expect(intake.stats()).toMatchObject({ inFlight: 3, refused: { inFlight: 2 } });
    unfinished.shift()!();
    await Promise.resolve();
    await Promise.resolve();
    intake.offer(command(9));
    expect(submitted.map((s) => (s.kind === 'command' ? s.command.id : s.id))).toEqual([
      'c-0',
      'c-1',
      'c-2',
      'c-9',
    ]);
    expect(intake.stats().inFlight).toBe(3);
  });

  it('logs one WARN when a flood starts and one summary when it has been quiet for a while', () => {
    const { time, intake, lines, warns } = setup({ ratePerS: 10, burst: 10 });
    for (let second = 0; second < 30; second++) {
      for (let i = 0; i < 1000; i++) intake.offer(command(second * 1000 + i));
      time.advance(1000);
    }
    expect(warns()).toHaveLength(1);
    expect(lines.some((l) => /flood ended/i.test(l.msg))).toBe(false);
    time.advance(FLOOD_QUIET_MS);
    const ended = lines.filter((l) => /flood ended/i.test(l.msg));
    expect(ended).toHaveLength(1);
    expect(ended[0]!.refused).toBe(intake.stats().refused.rate);
    // A second flood is a second episode.
    for (let i = 0; i < 100; i++) intake.offer(command(i));
    expect(warns()).toHaveLength(2);
  });

  it(`answers refused commands rejected, at most ${REFUSAL_ANSWERS_PER_S} per second past a small burst`, () => {
    const { time, intake, answered } = setup({ ratePerS: 1, burst: 1 });
    for (let second = 0; second < 60; second++) {
      for (let i = 0; i < 1000; i++) intake.offer(command(second * 1000 + i));
      time.advance(1000);
    }
    expect(intake.stats().refused.rate).toBeGreaterThan(59_000);
    expect(answered.length).toBeLessThanOrEqual(20 + 60 * REFUSAL_ANSWERS_PER_S);
    expect(answered.length).toBeGreaterThanOrEqual(60 * REFUSAL_ANSWERS_PER_S);
    expect(answered[0]!.detail).toMatch(/too many commands on route cloud \(limit 1\/s/);
    expect(intake.stats().refusalsAnswered).toBe(answered.length);
  });

  it('counts malformed and oversize commands it admits, without a log line each', () => {
    const { intake, submitted, lines } = setup({ ratePerS: 100, burst: 100 });
    intake.offer({ kind: 'invalid', id: 'g-1', reason: 'command is not valid JSON' });
    intake.offer({
      kind: 'invalid',
      id: 'g-2',
      reason: 'command is 9 bytes; the limit is 1',
      isOversize: true,
    });
    intake.offer(command(1));
    expect(submitted).toHaveLength(3);
    expect(intake.stats()).toMatchObject({ admitted: 3, refused: { invalid: 1, oversize: 1, rate: 0 } });
    expect(lines).toEqual([]);
  });

  it('summarises a flood still in progress on stop', () => {
    const { intake, lines } = setup({ ratePerS: 1, burst: 1 });
    for (let i = 0; i < 10; i++) intake.offer(command(i));
    intake.stop();
    expect(lines.filter((l) => /flood ended: 9 commands refused/i.test(l.msg))).toHaveLength(1);
  });

  it('as a gate, admits unread what the rate allows and refuses the rest unread, counted, without spending a token twice', () => {
    const { time, intake, submitted, answered } = setup({ ratePerS: 10, burst: 20 });
    // What a connector does: ask before reading, offer only what was admitted.
    const arrive = (n: number): void => {
      if (intake.admitUnread()) intake.offer(command(n));
    };
    for (let i = 0; i < 1000; i++) arrive(i);
    time.advance(1000);
    for (let i = 1000; i < 2000; i++) arrive(i);
    // Burst 20 + 10 in the second second, plus the few refusals let through to be answered.
    expect(submitted).toHaveLength(30);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.length).toBeLessThanOrEqual(20 + REFUSAL_ANSWERS_PER_S);
    expect(intake.stats()).toMatchObject({ admitted: 30, refused: { rate: 1970 } });
    expect(intake.stats().refusalsAnswered).toBe(answered.length);
  });

  it('keeps one flood episode across a reconnect: no second WARN while the upstream was away', () => {
    const connection = { isConnected: true };
    const { time, intake, lines, warns } = setup({ ratePerS: 1, burst: 1 }, connection);
    const floodFor = (seconds: number): void => {
      for (let s = 0; s < seconds; s++) {
        for (let i = 0; i < 100; i++) if (intake.admitUnread()) intake.offer(command(i));
        time.advance(1000);
      }
    };
    floodFor(5);
    connection.isConnected = false;
    time.advance(30_000); // reconnecting with backoff: no commands arrive
    connection.isConnected = true;
    time.advance(500);
    floodFor(5);
    expect(warns()).toHaveLength(1);
    expect(lines.some((l) => /flood ended/i.test(l.msg))).toBe(false);
    time.advance(FLOOD_QUIET_MS);
    expect(lines.filter((l) => /flood ended/i.test(l.msg))).toHaveLength(1);
  });
});
