import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { IncomingCommand } from '../../../../src/commands/incoming.js';
import { isFieldgateError } from '../../../../src/errors.js';
import { createLogger } from '../../../../src/logger.js';
import { CommandInbox } from '../../../../src/upstream/common/command-inbox.js';

/** Every line the inbox logged, parsed: what an operator reads. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
const at = (lines: Record<string, unknown>[], level: keyof typeof LEVEL) =>
  lines.filter((l) => l.level === LEVEL[level]).map((l) => l.msg);

const command = (id: string): IncomingCommand => ({
  kind: 'command',
  command: { id, device: 'sim:switch-01', name: 'on', args: {}, origin: 'mqtt' },
});

/** A fake connection: publishes succeed while `isUp`, and are recorded in `cloud`. */
function connection(cloud: string[]) {
  const state = { isUp: true };
  const publishOnce = (message: string): Promise<boolean> => {
    if (state.isUp) cloud.push(message);
    return Promise.resolve(state.isUp);
  };
  return { state, publishOnce };
}

/** An inbox that kept `ids` while its connection was down, and the cloud its results reach. */
async function keptWhileOffline(ids: string[]) {
  const inbox = new CommandInbox<string>({ log: capturingLogger().log });
  const cloud: string[] = [];
  const down = connection(cloud);
  down.state.isUp = false;
  for (const id of ids) await inbox.publish(id, id, down.publishOnce);
  return { inbox, cloud };
}

describe('CommandInbox: dispatch', () => {
  it('hands a command to the handler, and says whether it was taken', () => {
    const { log, lines } = capturingLogger();
    const inbox = new CommandInbox({ log });
    expect(inbox.dispatch(command('early'))).toBe(false);
    expect(at(lines, 'warn')).toEqual(['Command received before a handler was registered; not taken.']);

    const taken: string[] = [];
    inbox.onCommand((incoming) => taken.push(incoming.kind === 'command' ? incoming.command.id : ''));
    expect(inbox.dispatch(command('c-1'))).toBe(true);
    expect(taken).toEqual(['c-1']);
  });

  it('never lets a throwing handler reach the connection: logged, and reported not taken', () => {
    const { log, lines } = capturingLogger();
    const inbox = new CommandInbox({ log });
    inbox.onCommand(() => {
      throw new Error('boom');
    });
    expect(inbox.dispatch(command('c-1'), { topic: 'fg/gw/commands' })).toBe(false);
    const [error] = lines.filter((l) => l.level === LEVEL.error);
    expect(error).toMatchObject({ commandId: 'c-1', topic: 'fg/gw/commands', err: { message: 'boom' } });
  });

  it('takes nothing after close', () => {
    const { log } = capturingLogger();
    const inbox = new CommandInbox({ log });
    const taken: IncomingCommand[] = [];
    inbox.onCommand((incoming) => taken.push(incoming));
    inbox.close();
    expect(inbox.dispatch(command('late'))).toBe(false);
    expect(taken).toEqual([]);
  });
});

describe('CommandInbox: results and the offline outbox', () => {
  it('publishes a result at once while connected, keeping nothing', async () => {
    const { log } = capturingLogger();
    const inbox = new CommandInbox<string>({ log });
    const cloud: string[] = [];
    const { publishOnce } = connection(cloud);
    await inbox.publish('r-1', 'r-1', publishOnce);
    expect(cloud).toEqual(['r-1']);
    expect(inbox.stats()).toEqual({ kept: 0, dropped: 0 });
  });

  it('keeps results while offline and sends them oldest first, each once, after reconnecting', async () => {
    const { log, lines } = capturingLogger();
    let now = 1_000;
    const inbox = new CommandInbox<string>({ log, now: () => now });
    const cloud: string[] = [];
    const first = connection(cloud);
    first.state.isUp = false;
    for (const id of ['r-1', 'r-2', 'r-3']) await inbox.publish(id, id, first.publishOnce);
    expect(inbox.stats()).toEqual({ kept: 3, dropped: 0 });

    // The next connection takes one result and drops: the others wait, the first of them still first.
    let accepted = 0;
    const flaky = (message: string): Promise<boolean> => {
      if (accepted === 1) return Promise.resolve(false);
      accepted += 1;
      cloud.push(message);
      return Promise.resolve(true);
    };
    await inbox.flush(flaky);
    expect(cloud).toEqual(['r-1']);
    expect(inbox.stats().kept).toBe(2);

    now = 61_000;
    await inbox.flush(connection(cloud).publishOnce);
    expect(cloud).toEqual(['r-1', 'r-2', 'r-3']);
    expect(inbox.stats()).toEqual({ kept: 0, dropped: 0 });
    const [sent] = lines.filter((l) => l.msg === 'Sent the command results kept while offline.');
    expect(sent).toMatchObject({ sent: 3, dropped: 0, waitedMs: 60_000 });
  });

  it('keeps at most outboxLimit results: drops the oldest, counts them, warns once per outage', async () => {
    const { log, lines } = capturingLogger();
    const inbox = new CommandInbox<string>({ log, outboxLimit: 2 });
    const cloud: string[] = [];
    const down = connection(cloud);
    down.state.isUp = false;
    for (const id of ['r-1', 'r-2', 'r-3', 'r-4', 'r-5']) await inbox.publish(id, id, down.publishOnce);
    expect(inbox.stats()).toEqual({ kept: 2, dropped: 3 });
    await inbox.flush(connection(cloud).publishOnce);
    expect(cloud).toEqual(['r-4', 'r-5']);
    const full =
      'Result outbox full while offline; dropping the oldest results until the connection is back.';
    expect(at(lines, 'warn')).toEqual([full]);
    expect(lines.find((l) => l.level === LEVEL.info)).toMatchObject({ sent: 2, dropped: 3 });

    // A second outage is a new episode: one more warning.
    for (const id of ['r-6', 'r-7', 'r-8']) await inbox.publish(id, id, down.publishOnce);
    expect(at(lines, 'warn')).toEqual([full, full]);
    expect(inbox.stats()).toEqual({ kept: 2, dropped: 4 });
  });

  it('runs one flush at a time, so a result is sent once even when connections overlap', async () => {
    const { inbox, cloud } = await keptWhileOffline(['r-1', 'r-2']);

    // The old connection is slow to acknowledge its first publish; a new one comes up meanwhile.
    let ackOld!: () => void;
    const old = (message: string): Promise<boolean> =>
      new Promise((resolve) => (ackOld = () => resolve(cloud.push(message) > 0)));
    const flushing = inbox.flush(old);
    const newer = inbox.flush(connection(cloud).publishOnce);
    ackOld();
    await Promise.all([flushing, newer]);
    expect(cloud).toEqual(['r-1', 'r-2']);
  });

  it('carries on on the newer connection when the old one fails mid-flush', async () => {
    const { inbox, cloud } = await keptWhileOffline(['r-1', 'r-2']);
    let failOld!: () => void;
    const old = (): Promise<boolean> => new Promise((resolve) => (failOld = () => resolve(false)));
    const flushing = inbox.flush(old);
    void inbox.flush(connection(cloud).publishOnce);
    failOld();
    await flushing;
    expect(cloud).toEqual(['r-1', 'r-2']);
  });
});

describe('CommandInbox: close', () => {
  it('refuses connects, sends and keeps no result, and counts the results it still held as dropped', async () => {
    const { log, lines } = capturingLogger();
    const inbox = new CommandInbox<string>({ log });
    const cloud: string[] = [];
    const down = connection(cloud);
    down.state.isUp = false;
    await inbox.publish('r-1', 'r-1', down.publishOnce);
    inbox.close();
    expect(inbox.stats()).toEqual({ kept: 0, dropped: 1 });
    expect(at(lines, 'warn')).toEqual([
      'The upstream closed with results still kept while offline; they are lost.',
    ]);

    let error: unknown;
    try {
      inbox.throwIfClosed();
    } catch (e) {
      error = e;
    }
    expect(isFieldgateError(error, 'FG_UPSTREAM_OFFLINE')).toBe(true);

    const up = connection(cloud);
    await inbox.publish('r-2', 'r-2', up.publishOnce);
    await inbox.publish('r-3', 'r-3', up.publishOnce);
    await inbox.flush(up.publishOnce);
    expect(cloud).toEqual([]);
    expect(inbox.stats().kept).toBe(0);
    // One warning for the closed episode, then quieter.
    const refused = 'The upstream is closed; a command result was not sent.';
    expect(at(lines, 'warn').filter((m) => m === refused)).toHaveLength(1);
    expect(at(lines, 'debug')).toContain(refused);
    expect(inbox.refusesResult('r-4')).toBe(true);
  });

  it('does not keep a result whose publish failed because the upstream closed meanwhile', async () => {
    const { log } = capturingLogger();
    const inbox = new CommandInbox<string>({ log });
    const closing = (): Promise<boolean> => {
      inbox.close();
      return Promise.resolve(false);
    };
    await inbox.publish('r-1', 'r-1', closing);
    expect(inbox.stats()).toEqual({ kept: 0, dropped: 0 });
  });
});
