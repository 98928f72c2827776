import type { AzureUpstreamConfig } from '../../config/upstreams/azure.js';
import { FieldgateError } from '../../errors.js';

/** The TLS material of the `tls` option, read from its files; fit for `tls.connect` and mqtt.js. */
export interface TlsMaterial {
  rejectUnauthorized: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Read the CA, client certificate and key named in config; a missing file is FG_CONFIG_SECRET_MISSING. */
export async function readTlsFiles(
  tls: AzureUpstreamConfig['tls'],
  readFile: (path: string) => Promise<Buffer>,
): Promise<TlsMaterial> {
  const read = async (path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (e) {
      throw new FieldgateError('FG_CONFIG_SECRET_MISSING', `Cannot read TLS file ${path}.`, {
        cause: e,
        context: { path },
      });
    }
  };
  const [ca, cert, key] = await Promise.all([read(tls.caFile), read(tls.certFile), read(tls.keyFile)]);
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
}
