import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FieldgateError } from '../../src/errors.js';

const run = promisify(execFile);

/** `openssl req` arguments for a fresh, unencrypted EC P-256 key. */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A PEM certificate and its PKCS#8 private key. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

/** A certificate's SHA-256 fingerprint as Node formats it (`AA:BB:…`): the registry's key. */
export function fingerprintOf(certPem: string | Buffer): string {
  return new X509Certificate(certPem).fingerprint256;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    throw new FieldgateError('FG_INTERNAL', 'openssl failed while minting an emulator certificate.', {
      cause: e,
      context: { args: args.join(' ') },
    });
  }
}

/** The emulator's own certificate authority: self-signed, EC P-256, ten years. */
export async function createCertificateAuthority(
  commonName = 'fieldgate AWS IoT emulator CA',
): Promise<KeyPair> {
  return inTempDir(async (dir) => {
    await openssl(
      [
        'req',
        '-x509',
        '-new',
        ...NEW_EC_KEY,
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '3650',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    return readKeyPair(dir, 'ca');
  });
}

export interface IssueOptions {
  commonName: string;
  /** `server` for the endpoint (with subject alternative names), `client` for a device. */
  usage: 'server' | 'client';
  /** DNS names and IP addresses of a server certificate. */
  altNames?: string[];
}

/** Issue a certificate signed by `ca`, with a fresh EC P-256 key, valid for two years. */
export async function issueCertificate(ca: KeyPair, options: IssueOptions): Promise<KeyPair> {
  return inTempDir(async (dir) => {
    await writeFile(path.join(dir, 'ca.crt'), ca.certPem);
    await writeFile(path.join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    const alt = (options.altNames ?? []).map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`));
    const extensions = [
      'basicConstraints=CA:FALSE',
      `extendedKeyUsage=${options.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(alt.length > 0 ? [`subjectAltName=${alt.join(',')}`] : []),
    ];
    await writeFile(path.join(dir, 'ext.cnf'), `${extensions.join('\n')}\n`);
    await openssl(
      [
        'req',
        '-new',
        ...NEW_EC_KEY,
        '-keyout',
        'leaf.key',
        '-out',
        'leaf.csr',
        '-subj',
        `/CN=${options.commonName}`,
      ],
      dir,
    );
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        // Random serials: two certificates from one CA must never share one (RFC 5280 §4.1.2.2).
        `0x${randomBytes(8).toString('hex')}`,
        '-days',
        '730',
        '-sha256',
        '-extfile',
        'ext.cnf',
        '-out',
        'leaf.crt',
      ],
      dir,
    );
    return readKeyPair(dir, 'leaf');
  });
}

/** `<name>.crt` and `<name>.key` of `dir`, as openssl wrote them. */
async function readKeyPair(dir: string, name: string): Promise<KeyPair> {
  const read = (ext: string): Promise<string> => readFile(path.join(dir, `${name}.${ext}`), 'utf8');
  return { certPem: await read('crt'), keyPem: await read('key') };
}

async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-certs-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
