import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PortPresence } from '../../../../adapters/zigbee/port-presence.js';

let dir: string;
let presence: PortPresence | undefined;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-zigbee-port-'));
});
afterEach(async () => {
  presence?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('says the serial device node is gone once a node that existed at open disappears (a pulled ConBee)', async () => {
  const port = path.join(dir, 'ttyACM0');
  await writeFile(port, '');
  presence = new PortPresence(port);
  await presence.opened();
  const gone: string[] = [];
  presence.watch(
    10,
    () => true,
    (why) => gone.push(why),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(gone).toEqual([]);
  await rm(port);
  await eventually(() => gone.length > 0, 'the node to be reported gone');
  expect(gone[0]).toBe(`${port} is gone`);
});

it('reports nothing for a node that did not exist at open, nor while the coordinator is not watched', async () => {
  const missing = path.join(dir, 'ttyUSB9');
  presence = new PortPresence(missing);
  await presence.opened();
  const gone: string[] = [];
  presence.watch(
    10,
    () => true,
    (why) => gone.push(why),
  );

  const port = path.join(dir, 'ttyACM0');
  await writeFile(port, '');
  const closed = new PortPresence(port);
  await closed.opened();
  closed.watch(
    10,
    () => false,
    (why) => gone.push(why),
  );
  await rm(port);
  await new Promise((resolve) => setTimeout(resolve, 100));
  closed.stop();
  expect(gone).toEqual([]);
});
