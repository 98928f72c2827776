/**
 * Serial API frames as a Z-Wave stick writes them to its host, built byte by byte (INS12350 §5): SOF, length,
 * type, function, payload, checksum. Hand-built on purpose: the fuzz cases are these frames bent out of
 * shape, which zwave-js's own serialisers will not produce.
 */

const SOF = 0x01;
const REQUEST = 0x00;
/** `ApplicationCommandHandler`: a command class a node sent, as the stick hands it up. */
const FUNC_APPLICATION_COMMAND = 0x04;

/** XOR of `0xff` and every byte from the length through the last payload byte. */
export function serialChecksum(frameWithoutChecksum: Uint8Array): number {
  let checksum = 0xff;
  for (const byte of frameWithoutChecksum.subarray(1)) checksum ^= byte;
  return checksum;
}

/** A complete request frame of function `func`; `length` overrides the length byte (to lie with it). */
export function serialRequest(func: number, payload: Uint8Array, length?: number): Buffer {
  const body = Buffer.from([SOF, length ?? payload.length + 3, REQUEST, func, ...payload]);
  return Buffer.concat([body, Buffer.from([serialChecksum(body)])]);
}

/** The stick handing up `commandClassBytes` (command class id, command, fields) from node `nodeId`. */
export function applicationCommand(nodeId: number, commandClassBytes: Uint8Array): Buffer {
  return serialRequest(
    FUNC_APPLICATION_COMMAND,
    Buffer.from([0x00, nodeId, commandClassBytes.length, ...commandClassBytes]),
  );
}

/**
 * Multilevel Sensor Report, air temperature in °C: `value` with two decimals in two bytes
 * (level byte: precision 2, scale 0, size 2).
 */
export function airTemperatureReport(value: number): Buffer {
  const raw = Math.round(value * 100);
  return Buffer.from([0x31, 0x05, 0x01, 0x42, (raw >> 8) & 0xff, raw & 0xff]);
}

/**
 * Bytes that end whatever frame a host's parser is waiting to complete (a length byte can promise up to
 * 257 bytes) and are then skipped as noise: none is SOF, ACK, NAK or CAN.
 */
export const RESYNC = Buffer.alloc(260, 0xff);
