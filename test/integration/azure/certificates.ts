import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface TestCertificates {
  dir: string;
  server: { cert: Buffer; key: Buffer; certFile: string };
  client: { certFile: string; keyFile: string; thumbprint: string };
  cleanup(): Promise<void>;
}

/**
 * Throw-away self-signed certificates made with openssl for one test run: a server certificate for
 * 127.0.0.1 and localhost (the emulator), plus any `serverDnsNames` (a hub host name a client checks the
 * certificate against), and a device client certificate (X.509 auth). Nothing is committed.
 */
export async function makeTestCertificates(serverDnsNames: string[] = []): Promise<TestCertificates> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-azure-tls-'));
  const run = promisify(execFile);
  const selfSigned = (name: string, subject: string, extra: string[]) =>
    run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      subject,
      '-keyout',
      path.join(dir, `${name}.key`),
      '-out',
      path.join(dir, `${name}.pem`),
      ...extra,
    ]);
  const altNames = ['IP:127.0.0.1', 'DNS:localhost', ...serverDnsNames.map((name) => `DNS:${name}`)];
  await selfSigned('server', '/CN=127.0.0.1', ['-addext', `subjectAltName=${altNames.join(',')}`]);
  await selfSigned('client', '/CN=gw-x509', []);
  const clientCert = await readFile(path.join(dir, 'client.pem'));
  return {
    dir,
    server: {
      cert: await readFile(path.join(dir, 'server.pem')),
      key: await readFile(path.join(dir, 'server.key')),
      certFile: path.join(dir, 'server.pem'),
    },
    client: {
      certFile: path.join(dir, 'client.pem'),
      keyFile: path.join(dir, 'client.key'),
      thumbprint: new X509Certificate(clientCert).fingerprint256.replace(/:/g, ''),
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
