import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LevelCommandStore,
  MemoryCommandStore,
  loadAll,
  type CommandStore,
  type StoredCommand,
} from '../../../src/commands/command-store.js';

function stored(device: string, seq: number): StoredCommand {
  return {
    seq,
    command: { id: `cmd-${seq}`, device, name: 'toggle', args: {}, expiresAt: 1_000 + seq, origin: 'mqtt' },
  };
}

const dirs: string[] = [];
const databases: Level[] = [];

async function openLevel(dir?: string): Promise<{ dir: string; db: Level }> {
  const location = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'fieldgate-commands-')));
  if (dir === undefined) dirs.push(location);
  const db = new Level(location, { valueEncoding: 'json' });
  databases.push(db);
  return { dir: location, db };
}

afterEach(async () => {
  for (const db of databases.splice(0)) await db.close();
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

const implementations: [string, () => Promise<CommandStore>][] = [
  ['MemoryCommandStore', () => Promise.resolve(new MemoryCommandStore())],
  [
    'LevelCommandStore',
    async () => new LevelCommandStore((await openLevel()).db.sublevel('commands', { valueEncoding: 'json' })),
  ],
];

describe.each(implementations)('%s', (_name, create) => {
  it('loads each device’s commands in arrival order, with seqs compared as numbers', async () => {
    const store = await create();
    // 9 before 10 and 100: the fixed-width key keeps string order equal to numeric order.
    for (const entry of [stored('sim:b', 100), stored('sim:a', 10), stored('sim:b', 9), stored('sim:a', 2)]) {
      await store.put(entry);
    }
    const loaded = await loadAll(store);
    const seqsOf = (device: string): number[] =>
      loaded.filter((e) => e.command.device === device).map((e) => e.seq);
    expect(seqsOf('sim:a')).toEqual([2, 10]);
    expect(seqsOf('sim:b')).toEqual([9, 100]);
    expect(loaded.find((e) => e.seq === 9)).toEqual(stored('sim:b', 9));
  });

  it('forgets a deleted command and no other', async () => {
    const store = await create();
    await store.put(stored('sim:a', 1));
    await store.put(stored('sim:a', 2));
    await store.delete('sim:a', 1);
    expect((await loadAll(store)).map((e) => e.seq)).toEqual([2]);
  });
});

describe('LevelCommandStore', () => {
  it('keeps commands across a reopen of the database', async () => {
    const { dir, db } = await openLevel();
    await new LevelCommandStore(db.sublevel('commands', { valueEncoding: 'json' })).put(stored('sim:a', 7));
    await db.close();

    const reopened = await openLevel(dir);
    const store = new LevelCommandStore(reopened.db.sublevel('commands', { valueEncoding: 'json' }));
    expect(await loadAll(store)).toEqual([stored('sim:a', 7)]);
  });

  it('stores JSON even in a sublevel whose default encoding is text', async () => {
    const { db } = await openLevel();
    const store = new LevelCommandStore(db.sublevel('commands'));
    await store.put(stored('sim:a', 1));
    expect(await loadAll(store)).toEqual([stored('sim:a', 1)]);
  });

  it('skips entries it cannot read instead of failing to start', async () => {
    const { db } = await openLevel();
    const sublevel = db.sublevel<string, unknown>('commands', { valueEncoding: 'json' });
    await sublevel.put('sim:a!0000000000000001', { something: 'else' });
    const store = new LevelCommandStore(sublevel);
    await store.put(stored('sim:a', 2));
    expect((await loadAll(store)).map((e) => e.seq)).toEqual([2]);
  });
});

describe('LevelCommandStore: damage', () => {
  it('reports a value that is not JSON as damaged and goes on with the next entry', async () => {
    const { db } = await openLevel();
    const sublevel = db.sublevel<string, string>('commands', { valueEncoding: 'utf8' });
    await sublevel.put('sim:a!0000000000000001', '{"seq": 1, "comm');
    const store = new LevelCommandStore(sublevel);
    await store.put(stored('sim:a', 2));
    const scanned = [];
    for await (const entry of store.scan()) scanned.push(entry);
    expect(scanned).toEqual([
      { key: 'sim:a!0000000000000001', damaged: 'entry is not JSON' },
      { key: 'sim:a!0000000000000002', stored: stored('sim:a', 2) },
    ]);
  });
});
