import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findBluetoothControllers,
  findSerialSticks,
  recogniseStick,
} from '../../../../src/cli/init/radios.js';

// Link names as udev writes them under /dev/serial/by-id (examples from docs/radios.md).
const STICKS = [
  {
    name: 'usb-dresden_elektronik_ingenieurtechnik_GmbH_ConBee_II_DE2132111-if00',
    expected: { radio: 'zigbee', coordinator: 'deconz', baudRate: 115200 },
  },
  {
    name: 'usb-dresden_elektronik_ConBee_III_DE03188111-if00-port0',
    expected: { radio: 'zigbee', coordinator: 'deconz', baudRate: 115200 },
  },
  {
    name: 'usb-Itead_Sonoff_Zigbee_3.0_USB_Dongle_Plus_V2_a6ee897e4d1fef11aa004ad0639e525b-if00-port0',
    expected: { radio: 'zigbee', coordinator: 'ember' },
  },
  {
    name: 'usb-ITEAD_SONOFF_Zigbee_3.0_USB_Dongle_Plus_V2_20240122184111-if00',
    expected: { radio: 'zigbee', coordinator: 'ember' },
  },
  {
    name: 'usb-Silicon_Labs_Sonoff_Zigbee_3.0_USB_Dongle_Plus_0111-if00-port0',
    expected: { radio: 'zigbee', coordinator: 'zstack' },
  },
  {
    name: 'usb-ITead_Sonoff_Zigbee_3.0_USB_Dongle_Plus_b8b49abd27a6ed11a280eba32981d111-if00-port0',
    expected: { radio: 'zigbee', coordinator: 'zstack' },
  },
  {
    name: 'usb-SONOFF_SONOFF_Dongle_Plus_MG24_b023a583a66bef118e30a3adc169b110-if00-port0',
    expected: { radio: 'zigbee', coordinator: 'ember' },
  },
  {
    name: 'usb-Nabu_Casa_SkyConnect_v1.0_3abe54797c91ed118fc3cad13b20a111-if00-port0',
    expected: { radio: 'zigbee', coordinator: 'ember', rtscts: true },
  },
  {
    name: 'usb-Nabu_Casa_ZBT-2_10B41DE58D6C-if00',
    expected: { radio: 'zigbee', coordinator: 'ember', baudRate: 460800, rtscts: true },
  },
  {
    name: 'usb-Texas_Instruments_TI_CC2531_USB_CDC___0X00124B0018ED1111-if00',
    expected: { radio: 'zigbee', coordinator: 'zstack' },
  },
  { name: 'usb-0658_0200-if00', expected: { radio: 'zwave' } },
  { name: 'usb-Zooz_800_Z-Wave_Stick_533D004242-if00', expected: { radio: 'zwave' } },
] as const;

describe('recogniseStick', () => {
  it.each(STICKS)('$name', ({ name, expected }) => {
    const model = recogniseStick(name);
    expect(model).toMatchObject(expected);
    // A Z-Wave stick has no coordinator family; a Zigbee stick without one could not be configured.
    expect(model?.coordinator === undefined).toBe(expected.radio === 'zwave');
  });

  it.each([
    'usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0',
    'usb-Prolific_Technology_Inc._USB-Serial_Controller-if00-port0',
    'usb-Arduino__www.arduino.cc__0043_75833353035351B0E1D1-if00',
  ])('does not guess at %s', (name) => {
    expect(recogniseStick(name)).toBeUndefined();
  });
});

describe('finding radios on the machine', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-radios-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('lists the sticks linked in by-id, recognised and not, with their stable paths', async () => {
    const byId = path.join(root, 'dev/serial/by-id');
    await mkdir(byId, { recursive: true });
    // udev's links point at ../../ttyACM0; the target need not exist for the name to be read.
    await symlink('../../ttyACM0', path.join(byId, STICKS[0].name));
    await symlink('../../ttyUSB0', path.join(byId, 'usb-0658_0200-if00'));
    await symlink('../../ttyUSB1', path.join(byId, 'usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0'));

    const found = await findSerialSticks(byId);

    expect(found.recognised.map((s) => [s.path, s.radio])).toEqual([
      [path.join(byId, 'usb-0658_0200-if00'), 'zwave'],
      [path.join(byId, STICKS[0].name), 'zigbee'],
    ]);
    expect(found.unknown).toEqual([path.join(byId, 'usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0')]);
  });

  it('finds nothing, without failing, when no USB serial device was ever plugged in', async () => {
    expect(await findSerialSticks(path.join(root, 'dev/serial/by-id'))).toEqual({
      recognised: [],
      unknown: [],
    });
  });

  it('lists Bluetooth controllers by HCI index', async () => {
    const bluetooth = path.join(root, 'sys/class/bluetooth');
    for (const name of ['hci1', 'hci0', 'hci0:64', 'rfkill3']) {
      await mkdir(path.join(bluetooth, name), { recursive: true });
    }
    expect(await findBluetoothControllers(bluetooth)).toEqual([0, 1]);
    expect(await findBluetoothControllers(path.join(root, 'sys/class/none'))).toEqual([]);
  });
});
