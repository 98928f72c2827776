import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../emulators/aws/index.js';

/**
 * A real Mosquitto 2 on loopback that speaks MQTT 5 (which the aedes-based IoT Core emulator does not)
 * and authenticates clients the way IoT Core does: mutual TLS, the certificate required, its common name
 * as the identity. Installed by `.ci/run`.
 */
export interface MosquittoTls {
  port: number;
  ca: KeyPair;
  /** A client certificate (and key) with this common name, signed by the broker's CA. */
  mintClient(commonName: string): Promise<KeyPair>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `extraConfig`: more mosquitto.conf lines, e.g. `max_packet_size 2000`. */
export async function startMosquittoTls(extraConfig: string[] = []): Promise<MosquittoTls> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-mosquitto-'));
  // Started as root, Mosquitto drops to its own user before it reads the certificates.
  await chmod(dir, 0o755);
  const ca = await createCertificateAuthority('fieldgate mosquitto test CA (test only)');
  const server = await issueCertificate(ca, {
    commonName: 'localhost',
    usage: 'server',
    altNames: ['localhost'],
  });
  const files = {
    ca: path.join(dir, 'ca.crt'),
    cert: path.join(dir, 'server.crt'),
    key: path.join(dir, 'server.key'),
  };
  await writeFile(files.ca, ca.certPem, { mode: 0o644 });
  await writeFile(files.cert, server.certPem, { mode: 0o644 });
  await writeFile(files.key, server.keyPem, { mode: 0o644 });
  const port = await freePort();
  const config = [
    `listener ${port} 127.0.0.1`,
    `cafile ${files.ca}`,
    `certfile ${files.cert}`,
    `keyfile ${files.key}`,
    'require_certificate true',
    'use_identity_as_username true',
    'allow_anonymous true',
    'persistence false',
    ...extraConfig,
    'log_dest none',
  ];
  const configFile = path.join(dir, 'mosquitto.conf');
  await writeFile(configFile, `${config.join('\n')}\n`, { mode: 0o644 });
  const child: ChildProcess = spawn('mosquitto', ['-c', configFile], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    ca,
    mintClient: (commonName) => issueCertificate(ca, { commonName, usage: 'client' }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
