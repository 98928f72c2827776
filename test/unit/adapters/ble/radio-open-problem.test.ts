import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { openProblem } from '../../../../adapters/ble/radio.js';

/** The error Node throws when noble loads an HCI socket whose native module was never built (as in a release). */
function missingAddonError(): unknown {
  try {
    createRequire(import.meta.url)('/nonexistent/hci-socket/build/Release/bluetooth_hci_socket.node');
  } catch (e) {
    return e;
  }
  throw new Error('the require did not fail');
}

describe('openProblem', () => {
  it('tells a release user that the Bluetooth module must be built on the device, and how', () => {
    const problem = openProblem(missingAddonError(), 0);
    expect(problem).toContain('the Bluetooth module is not built');
    expect(problem).toContain('build-ble.sh');
    expect(problem).toContain(process.version);
  });

  it('says so for a module built for another Node major', () => {
    const error = Object.assign(
      new Error(
        "The module '/usr/lib/fieldgate/node_modules/@abandonware/bluetooth-hci-socket/build/Release/bluetooth_hci_socket.node'\n" +
          'was compiled against a different Node.js version using NODE_MODULE_VERSION 115.',
      ),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    expect(openProblem(error, 1)).toMatch(/^the Bluetooth module is not built .*build-ble\.sh/);
  });

  it('keeps the kernel and device reasons', () => {
    expect(openProblem(Object.assign(new Error('x'), { code: 'EAFNOSUPPORT' }), 0)).toContain(
      'no Bluetooth support',
    );
    expect(openProblem(Object.assign(new Error('x'), { code: 'ENODEV' }), 2)).toBe(
      'no Bluetooth adapter hci2',
    );
  });
});
