/**
 * The BTHome v2 object table (bthome.io/format): object id → how many bytes follow and what they mean.
 * An id missing here has an unknown length, so the rest of its packet cannot be parsed.
 */

export type BthomeObject =
  | { kind: 'number'; name: string; bytes: number; signed: boolean; factor: number; unit?: string }
  | { kind: 'binary'; name: string }
  | { kind: 'button' }
  | { kind: 'dimmer' }
  | { kind: 'packetId' }
  | { kind: 'text' | 'raw' }
  | { kind: 'firmware'; bytes: 3 | 4 }
  | { kind: 'skip'; bytes: number };

const num = (name: string, bytes: number, factor = 1, unit?: string, signed = false): BthomeObject =>
  unit === undefined
    ? { kind: 'number', name, bytes, signed, factor }
    : { kind: 'number', name, bytes, signed, factor, unit };
const sNum = (name: string, bytes: number, factor = 1, unit?: string): BthomeObject =>
  num(name, bytes, factor, unit, true);
const bin = (name: string): BthomeObject => ({ kind: 'binary', name });

const C = '°C';
const PCT = '%';
const UGM3 = 'µg/m³';

export const BTHOME_OBJECTS: ReadonlyMap<number, BthomeObject> = new Map<number, BthomeObject>([
  [0x00, { kind: 'packetId' }],
  [0x01, num('battery', 1, 1, PCT)],
  [0x02, sNum('temperature', 2, 0.01, C)],
  [0x03, num('humidity', 2, 0.01, PCT)],
  [0x04, num('pressure', 3, 0.01, 'hPa')],
  [0x05, num('illuminance', 3, 0.01, 'lx')],
  [0x06, num('mass', 2, 0.01, 'kg')],
  [0x07, num('mass', 2, 0.01, 'lb')],
  [0x08, sNum('dewPoint', 2, 0.01, C)],
  [0x09, num('count', 1)],
  [0x0a, num('energy', 3, 0.001, 'kWh')],
  [0x0b, num('power', 3, 0.01, 'W')],
  [0x0c, num('voltage', 2, 0.001, 'V')],
  [0x0d, num('pm25', 2, 1, UGM3)],
  [0x0e, num('pm10', 2, 1, UGM3)],
  [0x0f, bin('generic')],
  [0x10, bin('powerOn')],
  [0x11, bin('opening')],
  [0x12, num('co2', 2, 1, 'ppm')],
  [0x13, num('tvoc', 2, 1, UGM3)],
  [0x14, num('moisture', 2, 0.01, PCT)],
  [0x15, bin('batteryLow')],
  [0x16, bin('batteryCharging')],
  [0x17, bin('carbonMonoxide')],
  [0x18, bin('cold')],
  [0x19, bin('connectivity')],
  [0x1a, bin('door')],
  [0x1b, bin('garageDoor')],
  [0x1c, bin('gasDetected')],
  [0x1d, bin('heat')],
  [0x1e, bin('light')],
  [0x1f, bin('lock')],
  [0x20, bin('moistureDetected')],
  [0x21, bin('motion')],
  [0x22, bin('moving')],
  [0x23, bin('occupancy')],
  [0x24, bin('plug')],
  [0x25, bin('presence')],
  [0x26, bin('problem')],
  [0x27, bin('running')],
  [0x28, bin('safety')],
  [0x29, bin('smoke')],
  [0x2a, bin('sound')],
  [0x2b, bin('tamper')],
  [0x2c, bin('vibration')],
  [0x2d, bin('window')],
  [0x2e, num('humidity', 1, 1, PCT)],
  [0x2f, num('moisture', 1, 1, PCT)],
  [0x3a, { kind: 'button' }],
  [0x3c, { kind: 'dimmer' }],
  [0x3d, num('count', 2)],
  [0x3e, num('count', 4)],
  [0x3f, sNum('rotation', 2, 0.1, '°')],
  [0x40, num('distance', 2, 1, 'mm')],
  [0x41, num('distance', 2, 0.1, 'm')],
  [0x42, num('duration', 3, 0.001, 's')],
  [0x43, num('current', 2, 0.001, 'A')],
  [0x44, num('speed', 2, 0.01, 'm/s')],
  [0x45, sNum('temperature', 2, 0.1, C)],
  [0x46, num('uvIndex', 1, 0.1)],
  [0x47, num('volume', 2, 0.1, 'L')],
  [0x48, num('volume', 2, 1, 'mL')],
  [0x49, num('volumeFlowRate', 2, 0.001, 'm³/h')],
  [0x4a, num('voltage', 2, 0.1, 'V')],
  [0x4b, num('gas', 3, 0.001, 'm³')],
  [0x4c, num('gas', 4, 0.001, 'm³')],
  [0x4d, num('energy', 4, 0.001, 'kWh')],
  [0x4e, num('volume', 4, 0.001, 'L')],
  [0x4f, num('water', 4, 0.001, 'L')],
  [0x50, num('timestamp', 4, 1, 's')],
  [0x51, num('acceleration', 2, 0.001, 'm/s²')],
  [0x52, num('gyroscope', 2, 0.001, '°/s')],
  [0x53, { kind: 'text' }],
  [0x54, { kind: 'raw' }],
  [0x55, num('volumeStorage', 4, 0.001, 'L')],
  [0x56, num('conductivity', 2, 1, 'µS/cm')],
  [0x57, sNum('temperature', 1, 1, C)],
  [0x58, sNum('temperature', 1, 0.35, C)],
  [0x59, sNum('count', 1)],
  [0x5a, sNum('count', 2)],
  [0x5b, sNum('count', 4)],
  [0x5c, sNum('power', 4, 0.01, 'W')],
  [0x5d, sNum('current', 2, 0.001, 'A')],
  [0x5e, num('direction', 2, 0.01, '°')],
  [0x5f, num('precipitation', 2, 0.1, 'mm')],
  [0x60, num('channel', 1)],
  [0x61, num('rotationalSpeed', 2, 1, 'rpm')],
  [0xf0, { kind: 'skip', bytes: 2 }], // device type id: identifies the model, not a measurement
  [0xf1, { kind: 'firmware', bytes: 4 }],
  [0xf2, { kind: 'firmware', bytes: 3 }],
]);

/** Button event codes of object 0x3A. */
export const BUTTON_EVENTS: ReadonlyMap<number, string> = new Map([
  [0x00, 'none'],
  [0x01, 'press'],
  [0x02, 'doublePress'],
  [0x03, 'triplePress'],
  [0x04, 'longPress'],
  [0x05, 'longDoublePress'],
  [0x06, 'longTriplePress'],
  [0x80, 'holdPress'],
]);
