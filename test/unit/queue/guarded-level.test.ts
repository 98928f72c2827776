import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { GuardedLevel } from '../../../src/queue/guarded-level.js';
import type { WriteGuard } from '../../../src/queue/write-guard.js';

let dir: string;
let db: GuardedLevel;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-guarded-'));
  db = new GuardedLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** A guard that counts the writes it lets through, or refuses them all. */
function countingGuard(refuse = false) {
  const seen = { writes: 0 };
  const guard = {
    run: <T>(write: () => Promise<T>) => {
      seen.writes++;
      return refuse ? Promise.reject(new Error('refused by the guard')) : write();
    },
  } as unknown as WriteGuard;
  return { guard, seen };
}

it('sends every kind of write, of the root and of sublevels, through the guard', async () => {
  const { guard, seen } = countingGuard();
  db.guardWith(guard);
  const state = db.sublevel<string, unknown>(['state', 'commands'], { valueEncoding: 'json' });
  await db.put(Buffer.from('a'), Buffer.from('1'));
  await db.del(Buffer.from('a'));
  await db.batch([{ type: 'put', key: Buffer.from('b'), value: Buffer.from('2') }]);
  await state.put('cmd-1', { name: 'on' });
  await state.del('cmd-1');
  await state.batch([{ type: 'put', key: 'cmd-2', value: { name: 'off' } }]);
  expect(seen.writes).toBe(6);
  expect(await state.get('cmd-2')).toEqual({ name: 'off' });
  expect((await db.get(Buffer.from('b')))?.toString()).toBe('2');
});

it('stores nothing the guard refuses, and reads are not guarded', async () => {
  await db.put(Buffer.from('kept'), Buffer.from('1'));
  db.guardWith(countingGuard(true).guard);
  await expect(db.put(Buffer.from('new'), Buffer.from('2'))).rejects.toThrow('refused by the guard');
  await expect(db.sublevel('s').put('k', 'v')).rejects.toThrow('refused by the guard');
  expect(await db.get(Buffer.from('new'))).toBeUndefined();
  expect((await db.get(Buffer.from('kept')))?.toString()).toBe('1');
});
