import { describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../src/errors.js';
import { loadEmulator } from '../../src/load-emulator.js';

/** Not a literal, so that neither tsc nor vite tries to resolve it ahead of the test. */
const NO_SUCH_EMULATOR = ['..', 'fixtures', 'no-such-emulator', 'index.js'].join('/');

describe('loadEmulator', () => {
  it('says the emulators are not part of this install when the module is absent, as in the release', async () => {
    const loading = loadEmulator(
      'emulators.mqtt.enabled',
      'FG_CONFIG_INVALID',
      () => import(NO_SUCH_EMULATOR) as Promise<unknown>,
    );
    const error: unknown = await loading.catch((e: unknown) => e);
    expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toBe(
      'emulators.mqtt.enabled needs the emulators, which are not part of this install; run it from a source ' +
        'checkout (npm run build).',
    );
  });

  it('returns the module when it is present (a source checkout)', async () => {
    const azure = await loadEmulator(
      'fieldgate emulate azure',
      'FG_USAGE',
      () => import('../../emulators/azure/index.js'),
    );
    expect(typeof azure.AzureHubEmulator).toBe('function');
  });

  it('passes any other failure through unchanged', async () => {
    const broken = new Error('the emulator threw while loading');
    await expect(
      loadEmulator('fieldgate emulate aws', 'FG_USAGE', () => Promise.reject(broken)),
    ).rejects.toBe(broken);
  });
});
