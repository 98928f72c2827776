import { afterAll } from 'vitest';
import { bleAdapterFromConfig } from '../fakes/ble/ble-test-adapter.js';
import { installFakeBluetooth } from '../fakes/ble/fake-hci-socket.js';
import { RecordingContext } from '../fakes/ble/recording-context.js';
import { waitFor } from '../fakes/wait-for.js';
import { CAPTURED } from '../fixtures/ble/captured-reports.js';
import { adapterContract } from './adapter.contract.js';

// Real noble over a fake HCI socket; each test gets its own controller (hciN).
const host = installFakeBluetooth();
afterAll(() => host.close());
let nextHci = 0;

adapterContract('BLE adapter', () => {
  const hciDevice = nextHci++;
  const controller = host.controller(hciDevice);
  const ctx = new RecordingContext();
  const adapter = bleAdapterFromConfig({
    hciDevice,
    scanStallMs: 600_000,
    allow: { macs: ['54:48:E6:8F:80:A5'] },
    duplicateWindowMs: 0,
  });
  return Promise.resolve({
    adapter,
    ctx,
    started: () => waitFor(() => ctx.state === 'running' && controller.scanning, 'scanning'),
    isRadioOpen: () => controller.scanning,
    stimulate: () => {
      controller.inject(CAPTURED.bthomeBattery);
      controller.inject(CAPTURED.bthomeClimate);
    },
    dispose: () => Promise.resolve(),
  });
});
