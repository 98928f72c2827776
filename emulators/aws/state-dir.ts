import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCertificateAuthority, fingerprintOf, issueCertificate, type KeyPair } from './certs.js';
import { EMULATOR_SERVER_NAMES, GATEWAY_POLICY } from './emulator.js';
import { gatewayThingPolicy } from './policy.js';
import { Registry } from './registry.js';

/** Where a thing's credentials are written: the `certFile`, `keyFile` and `caFile` of its upstream config. */
export interface ThingFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** What the emulator keeps between runs: its CA, endpoint certificate, registry, and the devices it minted. */
export interface EmulatorState {
  ca: KeyPair;
  server: KeyPair;
  registry: Registry;
  /** Register `thing` with a minted certificate unless it has one already; returns its files. */
  ensureThing(thing: string): Promise<ThingFiles>;
  save(): Promise<void>;
}

async function readPair(certFile: string, keyFile: string): Promise<KeyPair | undefined> {
  try {
    return { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writePair(pair: KeyPair, certFile: string, keyFile: string): Promise<void> {
  await writeFile(certFile, pair.certPem);
  // Private keys of a local emulator, still: readable by the owner only.
  await writeFile(keyFile, pair.keyPem, { mode: 0o600 });
}

/**
 * Open (creating on first use) an emulator state directory: `ca.crt`/`ca.key`, `server.crt`/`server.key`,
 * `registry.json`, and `things/<thing>.crt|.key` per minted device.
 */
export async function openEmulatorState(stateDir: string): Promise<EmulatorState> {
  // Absolute, because the paths end up in a route config that is read from elsewhere.
  const dir = path.resolve(stateDir);
  await mkdir(path.join(dir, 'things'), { recursive: true, mode: 0o700 });
  const file = (name: string): string => path.join(dir, name);
  let ca = await readPair(file('ca.crt'), file('ca.key'));
  if (ca === undefined) {
    ca = await createCertificateAuthority();
    await writePair(ca, file('ca.crt'), file('ca.key'));
  }
  let server = await readPair(file('server.crt'), file('server.key'));
  if (server === undefined) {
    server = await issueCertificate(ca, {
      commonName: 'localhost',
      usage: 'server',
      altNames: EMULATOR_SERVER_NAMES,
    });
    await writePair(server, file('server.crt'), file('server.key'));
  }
  const registry = await Registry.load(file('registry.json'));
  const authority = ca;
  return {
    ca,
    server,
    registry,
    ensureThing: async (thing) => {
      const files = {
        certFile: file(`things/${thing}.crt`),
        keyFile: file(`things/${thing}.key`),
        caFile: file('ca.crt'),
      };
      const policy = `${GATEWAY_POLICY}-${thing}`;
      // Put on every run: a state dir an older version made then allows what this version publishes.
      registry.putPolicy(policy, gatewayThingPolicy(thing));
      const existing = await readPair(files.certFile, files.keyFile);
      if (existing !== undefined && registry.principal(fingerprintOf(existing.certPem)) !== undefined)
        return files;
      const pair = await issueCertificate(authority, { commonName: thing, usage: 'client' });
      await writePair(pair, files.certFile, files.keyFile);
      registry.registerCertificate(fingerprintOf(pair.certPem), thing, [policy]);
      return files;
    },
    save: () => registry.save(file('registry.json')),
  };
}
