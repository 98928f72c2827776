import { readFile as fsReadFile } from 'node:fs/promises';
import { FieldgateError } from '../../errors.js';
import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';

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
  const read = async (path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new FieldgateError('FG_CONFIG_SECRET_MISSING', `Cannot read TLS file ${path}.`, {
        cause: e,
        context: { path },
      });
    }
  };
  const { tls } = config;
  const [cert, key, ca] = await Promise.all([
    read(tls.certFile),
    read(tls.keyFile),
    tls.caFile === undefined ? undefined : read(tls.caFile),
  ]);
  return { cert, key, ...(ca === undefined ? {} : { ca }), servername: config.servername ?? config.endpoint };
}
