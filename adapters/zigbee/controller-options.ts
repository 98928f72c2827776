import path from 'node:path';
import type { Controller } from 'zigbee-herdsman';
import type { NetworkSettings } from './network-settings.js';
import type { ZigbeeOptions } from './options.js';

type ControllerOptions = ConstructorParameters<typeof Controller>[0];

/** herdsman's Controller options from ours: network identity, serial link, files under the state dir. */
export function controllerOptions(
  options: ZigbeeOptions,
  network: NetworkSettings,
  stateDir: string,
): ControllerOptions {
  return {
    network: {
      panID: network.panId,
      extendedPanID: network.extendedPanId,
      channelList: [network.channel],
      networkKey: network.networkKey,
    },
    serialPort: {
      adapter: options.coordinator,
      ...(options.serialPort === undefined ? {} : { path: options.serialPort }),
      ...(options.baudRate === undefined ? {} : { baudRate: options.baudRate }),
      ...(options.rtscts === undefined ? {} : { rtscts: options.rtscts }),
    },
    databasePath: path.join(stateDir, 'database.db'),
    databaseBackupPath: path.join(stateDir, 'database.db.backup'),
    backupPath: path.join(stateDir, 'coordinator-backup.json'),
    adapter: { disableLED: false },
    // Pairing is gated by the permit-join window the operator opens; whoever joins in it is accepted.
    acceptJoiningDeviceHandler: () => Promise.resolve(true),
  };
}
