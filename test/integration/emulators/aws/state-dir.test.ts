import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../../../emulators/aws/index.js';
import { GATEWAY_POLICY } from '../../../../emulators/aws/index.js';
import { gatewayThingPolicy, isAllowed } from '../../../../emulators/aws/index.js';
import { openEmulatorState } from '../../../../emulators/aws/index.js';
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

  it('brings the thing policy of an older state dir up to date (the gateway telemetry topic)', async () => {
    const first = await openEmulatorState(dir);
    const files = await first.ensureThing('gw-1');
    // What versions before the per-gateway default topic stored: telemetry only below the thing's name.
    const older = gatewayThingPolicy('gw-1');
    older.Statement.find((s) => s.Action === 'iot:Publish')!.Resource = ['arn:aws:iot:*:*:topic/dt/*/gw-1/*'];
    first.registry.putPolicy(`${GATEWAY_POLICY}-gw-1`, older);
    await first.save();
    const fingerprint = fingerprintOf(await readFile(files.certFile, 'utf8'));
    const asThing = { clientId: 'gw-1', thingName: 'gw-1' };
    const policiesOf = (state: typeof first) => state.registry.principal(fingerprint)!.policies;
    expect(isAllowed(policiesOf(first), 'iot:Publish', 'dt/fieldgate/gw-1', asThing)).toBe(false);

    const second = await openEmulatorState(dir);
    await second.ensureThing('gw-1');
    expect(isAllowed(policiesOf(second), 'iot:Publish', 'dt/fieldgate/gw-1', asThing)).toBe(true);
  });
});
