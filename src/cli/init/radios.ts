import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** The radios `fieldgate init` can write an adapter for. */
export type RadioKind = 'zigbee' | 'zwave' | 'ble';

export type ZigbeeCoordinator = 'ember' | 'zstack' | 'deconz';

/** What a `/dev/serial/by-id/` link name tells about the stick behind it. */
export interface StickModel {
  label: string;
  radio: 'zigbee' | 'zwave';
  coordinator?: ZigbeeCoordinator;
  baudRate?: number;
  rtscts?: boolean;
}

/** A stick found on this machine. */
export interface SerialStick extends StickModel {
  /** The stable path: `/dev/serial/by-id/<name>`. */
  path: string;
}

/**
 * Sticks recognised by the USB vendor and product names in their by-id link, most specific first. The
 * table, its sources and the ambiguous cases are in docs/radios.md; keep the two in step.
 */
const STICKS: readonly (StickModel & { pattern: RegExp })[] = [
  {
    pattern: /conbee_iii/i,
    label: 'dresden elektronik ConBee III',
    radio: 'zigbee',
    coordinator: 'deconz',
    baudRate: 115200,
  },
  {
    pattern: /conbee_ii/i,
    label: 'dresden elektronik ConBee II',
    radio: 'zigbee',
    coordinator: 'deconz',
    baudRate: 115200,
  },
  { pattern: /raspbee/i, label: 'dresden elektronik RaspBee', radio: 'zigbee', coordinator: 'deconz' },
  {
    pattern: /sonoff.*dongle_plus_v2/i,
    label: 'Sonoff ZBDongle-E (EFR32MG21)',
    radio: 'zigbee',
    coordinator: 'ember',
    rtscts: false,
  },
  {
    pattern: /sonoff.*dongle_plus_mg24/i,
    label: 'Sonoff Dongle Plus MG24',
    radio: 'zigbee',
    coordinator: 'ember',
    rtscts: false,
  },
  {
    pattern: /sonoff.*dongle_max/i,
    label: 'Sonoff Dongle Max (MG24)',
    radio: 'zigbee',
    coordinator: 'ember',
    rtscts: false,
  },
  {
    pattern: /sonoff.*dongle_lite_mg21/i,
    label: 'Sonoff Dongle Lite MG21',
    radio: 'zigbee',
    coordinator: 'ember',
    rtscts: false,
  },
  {
    pattern: /sonoff.*dongle_plus_cc2674/i,
    label: 'Sonoff Dongle Plus CC2674P10',
    radio: 'zigbee',
    coordinator: 'zstack',
  },
  {
    pattern: /sonoff.*dongle_plus/i,
    label: 'Sonoff ZBDongle-P (CC2652P)',
    radio: 'zigbee',
    coordinator: 'zstack',
  },
  {
    pattern: /nabu_casa_zbt-2/i,
    label: 'Home Assistant Connect ZBT-2',
    radio: 'zigbee',
    coordinator: 'ember',
    baudRate: 460800,
    rtscts: true,
  },
  {
    pattern: /nabu_casa.*(skyconnect|zbt-1)/i,
    label: 'Home Assistant SkyConnect / Connect ZBT-1',
    radio: 'zigbee',
    coordinator: 'ember',
    rtscts: true,
  },
  { pattern: /slzb-0[67]p/i, label: 'SMLIGHT SLZB (CC2652P7)', radio: 'zigbee', coordinator: 'zstack' },
  { pattern: /slzb-0[67]m|slzb-07_/i, label: 'SMLIGHT SLZB (EFR32)', radio: 'zigbee', coordinator: 'ember' },
  { pattern: /electrolama|zzh/i, label: 'Electrolama zzh (CC2652R)', radio: 'zigbee', coordinator: 'zstack' },
  {
    pattern: /cc2652|cc1352|cc2531|cc2538/i,
    label: 'Texas Instruments CC26xx/CC2531 stick',
    radio: 'zigbee',
    coordinator: 'zstack',
  },
  {
    pattern: /0658_0200/i,
    label: 'Z-Wave stick (Aeotec Z-Stick 7 / Gen5, USB id 0658:0200)',
    radio: 'zwave',
  },
  { pattern: /zooz.*(800|zst39)/i, label: 'Zooz ZST39 800 Long Range', radio: 'zwave' },
  { pattern: /zooz|zst10/i, label: 'Zooz ZST10 700', radio: 'zwave' },
  { pattern: /z-?wave/i, label: 'Z-Wave stick', radio: 'zwave' },
];

/** The model a by-id link name belongs to, or undefined for a serial device we cannot tell. */
export function recogniseStick(byIdName: string): StickModel | undefined {
  const match = STICKS.find(({ pattern }) => pattern.test(byIdName));
  if (match === undefined) return undefined;
  const { pattern: _pattern, ...model } = match;
  return model;
}

/** The serial sticks linked under `byIdDir` (`/dev/serial/by-id`), recognised or not, sorted by name. */
export async function findSerialSticks(
  byIdDir: string,
): Promise<{ recognised: SerialStick[]; unknown: string[] }> {
  let names: string[];
  try {
    names = (await readdir(byIdDir)).sort();
  } catch {
    return { recognised: [], unknown: [] }; // No USB serial device plugged in: udev makes no directory.
  }
  const recognised: SerialStick[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const model = recogniseStick(name);
    const stickPath = path.join(byIdDir, name);
    if (model === undefined) unknown.push(stickPath);
    else recognised.push({ ...model, path: stickPath });
  }
  return { recognised, unknown };
}

/** Bluetooth controllers under `classDir` (`/sys/class/bluetooth`), as HCI indexes: `hci0` → 0. */
export async function findBluetoothControllers(classDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(classDir);
  } catch {
    return [];
  }
  return names
    .map((name) => /^hci(\d+)$/.exec(name)?.[1])
    .filter((index): index is string => index !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}
