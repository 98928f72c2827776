import { errorMessage } from '../../src/errors.js';
import type { Noble, NobleState } from './noble-types.js';

/**
 * Builds a noble instance on HCI device `hciDevice`. noble is imported here, lazily, so a gateway without
 * BLE configured never loads the native HCI socket.
 *
 * @throws when the host has no Bluetooth at all: noble opens its HCI socket in the constructor, which
 *   fails with EAFNOSUPPORT on kernels without AF_BLUETOOTH. The caller turns that into `unavailable`.
 */
export async function openNoble(hciDevice: number): Promise<Noble> {
  const { default: withBindings } = await import('@abandonware/noble/with-custom-binding.js');
  const noble = withBindings({ deviceId: hciDevice }) as Noble;
  // Stop noble printing 'warning' events to the console; the adapter listens for them instead.
  noble.on('warning', () => undefined);
  return noble;
}

/**
 * Undo the SIGINT handler noble installs on init: when it is the last SIGINT listener it calls
 * `process.exit(1)`, which would cut the daemon's graceful shutdown short.
 */
export function detachNobleSignalHandler(noble: Noble): void {
  const handler = noble._bindings.onSigIntBinded;
  if (handler !== undefined) process.removeListener('SIGINT', handler);
}

/**
 * Calls `listener` with each LE advertising report's address and raw advertising data, just before noble
 * parses it into the `discover` event it emits at once. noble's parsed advertisement keeps only the last
 * manufacturer-data structure; the raw data has them all. noble's HCI binding emits every report as
 * `leAdvertisingReport(status, type, address, addressType, data, rssi)` (lib/hci-socket/hci.js).
 *
 * @returns false when the binding has no such emitter (another binding or noble version): the adapter then
 *   decodes from noble's parsed advertisement alone.
 */
export function onRawAdvertisingReports(
  noble: Noble,
  listener: (address: string, data: Buffer) => void,
): boolean {
  const hci = noble._bindings._hci;
  if (hci === undefined || typeof hci.prependListener !== 'function') return false;
  hci.prependListener('leAdvertisingReport', (...args: unknown[]) => {
    const [, , address, , data] = args;
    if (typeof address === 'string' && Buffer.isBuffer(data)) listener(address, data);
  });
  return true;
}

/** Why a radio in `state` cannot scan, in words for `fieldgate status`; undefined when it can. */
export function stateProblem(state: NobleState, hciDevice: number): string | undefined {
  const hci = `hci${hciDevice}`;
  switch (state) {
    case 'poweredOn':
      return undefined;
    case 'poweredOff':
      return `Bluetooth adapter ${hci} is powered off or blocked by rfkill`;
    case 'unauthorized':
      return `not allowed to open ${hci}: the service needs CAP_NET_RAW and CAP_NET_ADMIN`;
    case 'unsupported':
      return `${hci} does not support Bluetooth Low Energy`;
    case 'resetting':
    case 'unknown':
      return `${hci} is initialising`;
  }
}

/** Words for a failure to open the radio at all (no Bluetooth in the kernel, no such device). */
export function openProblem(error: unknown, hciDevice: number): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'EAFNOSUPPORT') return 'this kernel has no Bluetooth support (AF_BLUETOOTH unavailable)';
  if (code === 'ENODEV') return `no Bluetooth adapter hci${hciDevice}`;
  // Releases leave the HCI socket's native module out (it is built per Node major): say how to build it.
  const message = errorMessage(error);
  if (
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_DLOPEN_FAILED') &&
    message.includes('bluetooth_hci_socket')
  )
    return (
      `the Bluetooth module is not built for this machine's Node.js ${process.version}: run ` +
      `systemd/build-ble.sh from the fieldgate install as root, then restart (${message.split('\n')[0]})`
    );
  return `cannot open Bluetooth adapter hci${hciDevice}: ${errorMessage(error)}`;
}
