import { describe, expect, it } from 'vitest';
import { readTlsFiles } from '../../../../src/upstream/common/tls-files.js';

const files: Record<string, string> = { '/etc/fg/ca.pem': 'CA', '/etc/fg/gw.pem': 'CERT' };
const readFile = (path: string): Promise<Buffer> =>
  path in files ? Promise.resolve(Buffer.from(files[path]!)) : Promise.reject(new Error(`ENOENT ${path}`));

describe('readTlsFiles', () => {
  it('reads the files that are named and leaves the others out', async () => {
    const material = await readTlsFiles(
      { caFile: '/etc/fg/ca.pem', certFile: '/etc/fg/gw.pem', rejectUnauthorized: false },
      readFile,
    );
    expect(material).toEqual({ rejectUnauthorized: false, ca: Buffer.from('CA'), cert: Buffer.from('CERT') });
  });

  it('names the file it cannot read in a FG_CONFIG_SECRET_MISSING error', async () => {
    await expect(
      readTlsFiles(
        { caFile: '/etc/fg/ca.pem', keyFile: '/etc/fg/gone.key', rejectUnauthorized: true },
        readFile,
      ),
    ).rejects.toMatchObject({
      code: 'FG_CONFIG_SECRET_MISSING',
      message: 'Cannot read TLS file /etc/fg/gone.key.',
      context: { path: '/etc/fg/gone.key' },
    });
  });
});
