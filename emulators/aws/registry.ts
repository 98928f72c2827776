import { readFile, writeFile } from 'node:fs/promises';
import type { PolicyDocument } from './policy.js';

/** A registered device certificate, keyed by its SHA-256 fingerprint (as Node prints it, `AA:BB:…`). */
export interface CertificateRecord {
  status: 'ACTIVE' | 'INACTIVE' | 'REVOKED';
  /** Things attached to the certificate: a client id equal to one of them sets the ThingName variable. */
  things: string[];
  /** Names of policies attached to the certificate. */
  policies: string[];
}

export interface RegistryData {
  things: string[];
  certificates: Record<string, CertificateRecord>;
  policies: Record<string, PolicyDocument>;
}

/** What the broker needs to know about a connecting certificate. */
export interface Principal {
  certificate: CertificateRecord;
  policies: PolicyDocument[];
}

/**
 * The emulated account's registry: things, certificates and policies
 * (docs/clouds/aws-iot-core.md#endpoints-and-authentication). In memory, optionally loaded
 * from and saved to a JSON file so `fieldgate emulate aws` keeps what it registered across runs.
 */
export class Registry {
  readonly #data: RegistryData;

  constructor(data: RegistryData = { things: [], certificates: {}, policies: {} }) {
    this.#data = data;
  }

  static async load(file: string): Promise<Registry> {
    try {
      return new Registry(JSON.parse(await readFile(file, 'utf8')) as RegistryData);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Registry();
      throw e;
    }
  }

  async save(file: string): Promise<void> {
    await writeFile(file, `${JSON.stringify(this.#data, null, 2)}\n`, { mode: 0o600 });
  }

  putPolicy(name: string, document: PolicyDocument): void {
    this.#data.policies[name] = document;
  }

  /** Register a thing and an active certificate attached to it, with the named policies. */
  registerCertificate(fingerprint: string, thing: string, policies: string[]): void {
    if (!this.#data.things.includes(thing)) this.#data.things.push(thing);
    this.#data.certificates[normalize(fingerprint)] = { status: 'ACTIVE', things: [thing], policies };
  }

  /** Register a thing without a certificate: a leaf a gateway acts for (classic shadows). */
  putThing(name: string): void {
    if (!this.#data.things.includes(name)) this.#data.things.push(name);
  }

  setCertificateStatus(fingerprint: string, status: CertificateRecord['status']): void {
    const record = this.#data.certificates[normalize(fingerprint)];
    if (record !== undefined) record.status = status;
  }

  /** The active certificate with this fingerprint and its policies, or undefined (unknown or not active). */
  principal(fingerprint: string): Principal | undefined {
    const certificate = this.#data.certificates[normalize(fingerprint)];
    if (certificate?.status !== 'ACTIVE') return undefined;
    const policies = certificate.policies.flatMap((name) => {
      const document = this.#data.policies[name];
      return document === undefined ? [] : [document];
    });
    return { certificate, policies };
  }

  hasThing(name: string): boolean {
    return this.#data.things.includes(name);
  }
}

function normalize(fingerprint: string): string {
  return fingerprint.toUpperCase();
}
