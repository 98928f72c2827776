import { FieldgateError } from '../../errors.js';

/** The TLS material of an upstream's `tls` option, read from its files; fit for `tls.connect` and mqtt.js. */
export interface TlsMaterial {
  rejectUnauthorized: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The file names of an upstream's `tls` option; each file is optional. */
export interface TlsFileNames {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  rejectUnauthorized: boolean;
}

/** Read one TLS file named in config; one that cannot be read is FG_CONFIG_SECRET_MISSING naming it. */
export async function readTlsFile(
  path: string,
  readFile: (path: string) => Promise<Buffer>,
): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new FieldgateError('FG_CONFIG_SECRET_MISSING', `Cannot read TLS file ${path}.`, {
      cause: e,
      context: { path },
    });
  }
}

/** Read the CA, client certificate and key named in config (each when named), as `readTlsFile`. */
export async function readTlsFiles(
  tls: TlsFileNames,
  readFile: (path: string) => Promise<Buffer>,
): Promise<TlsMaterial> {
  const read = (path: string | undefined): Promise<Buffer | undefined> =>
    path === undefined ? Promise.resolve(undefined) : readTlsFile(path, readFile);
  const [ca, cert, key] = await Promise.all([read(tls.caFile), read(tls.certFile), read(tls.keyFile)]);
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
}
