/**
 * The adapter's options as the runtime hands them over: already validated and defaulted by
 * `src/config/adapters/ble.ts`. Mirrored here because adapters never import the config layer; a type test
 * keeps the two shapes in step.
 */

export type ValueFormat =
  | 'uint8'
  | 'int8'
  | 'uint16le'
  | 'int16le'
  | 'uint16be'
  | 'int16be'
  | 'uint24le'
  | 'uint32le'
  | 'int32le'
  | 'floatle'
  | 'bool';

export interface GattReadingOptions {
  name: string;
  service: string;
  characteristic: string;
  format: ValueFormat;
  offset: number;
  scale: number;
  unit?: string | undefined;
  mode: 'poll' | 'notify';
  intervalMs: number;
}

export interface ConstantPart {
  hex: string;
}

export interface ArgPart {
  arg: string;
  format: ValueFormat;
  scale: number;
  min?: number | undefined;
  max?: number | undefined;
  enum?: Record<string, number> | undefined;
}

export type PayloadPart = ConstantPart | ArgPart;

export interface GattCommandOptions {
  name: string;
  service: string;
  characteristic: string;
  withResponse: boolean;
  payload: PayloadPart[];
}

export interface BleDeviceOptions {
  address: string;
  name?: string | undefined;
  bindkey?: string | undefined;
  gatt?: { readings: GattReadingOptions[]; commands: GattCommandOptions[] } | undefined;
}

export interface BleOptions {
  hciDevice: number;
  devices: BleDeviceOptions[];
  allow: { macs: string[]; names: string[] };
  discovery: boolean;
  duplicateWindowMs: number;
  scanStallMs: number;
  maxConnections: number;
  connectTimeoutMs: number;
  reopen: { initialMs: number; maxMs: number };
  availability: { missedIntervals: number; minOfflineMs: number; maxOfflineMs: number };
}
