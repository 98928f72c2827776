import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../../../src/emulator/aws/certs.js';
import { openEmulatorState } from '../../../../src/emulator/aws/state-dir.js';
import { readFile } from 'node:fs/promises';

describe('the emulator state directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-aws-state-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps its CA and registered things across runs, and mints a thing only once', async () => {
    const first = await openEmulatorState(dir);
    const files = await first.ensureThing('gw-1');
    await first.save();
    const cert = await readFile(files.certFile, 'utf8');

    const second = await openEmulatorState(dir);
    expect(second.ca.certPem).toBe(first.ca.certPem);
    expect(await second.ensureThing('gw-1')).toEqual(files);
    expect(await readFile(files.certFile, 'utf8')).toBe(cert);
    expect(second.registry.principal(fingerprintOf(cert))?.certificate.things).toEqual(['gw-1']);
  });
});
