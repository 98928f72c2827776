import { readFile as fsReadFile } from 'node:fs/promises';
import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';
import { readTlsFile } from '../common/tls-files.js';

/** The gateway's TLS identity and trust, as `tls.connect` and `https.request` take them. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** SNI name: IoT Core refuses a handshake without one. */
  servername: string;
}

/**
 * Read the certificate, key and CA files named in config. Read at every connect, so a rotated
 * certificate is picked up without a restart. Throws `FG_CONFIG_SECRET_MISSING` naming the file.
 */
export async function loadTlsMaterial(
  config: Pick<AwsUpstreamConfig, 'tls' | 'endpoint' | 'servername'>,
  readFile: (path: string) => Promise<Buffer> = fsReadFile,
): Promise<TlsMaterial> {
  const read = (path: string): Promise<Buffer> => readTlsFile(path, readFile);
  const { tls } = config;
  const [cert, key, ca] = await Promise.all([
    read(tls.certFile),
    read(tls.keyFile),
    tls.caFile === undefined ? undefined : read(tls.caFile),
  ]);
  return { cert, key, ...(ca === undefined ? {} : { ca }), servername: config.servername ?? config.endpoint };
}
