/**
 * Drops advertisements that repeat a packet already seen. BLE sensors send each packet several times (and
 * noble reports every copy with `allowDuplicates`), so one measurement must become one reading.
 *
 * - With a device packet counter (BTHome packet id, Ruuvi sequence, ATC frame counter) the same counter
 *   as last time is a repeat, however long ago.
 * - Without one, the same payload within `windowMs` is a repeat; after that it is a fresh (unchanged)
 *   measurement.
 */
export class DuplicateFilter {
  private readonly last = new Map<string, { key: string; atMs: number }>();

  constructor(private readonly windowMs: number) {}

  /** True when this packet repeats the device's previous one; otherwise records it as the latest. */
  isDuplicate(
    device: string,
    packet: { counter?: number | undefined; payloadHex: string },
    nowMs: number,
  ): boolean {
    const key = packet.counter === undefined ? `p:${packet.payloadHex}` : `c:${packet.counter}`;
    const previous = this.last.get(device);
    const repeated =
      previous !== undefined &&
      previous.key === key &&
      (packet.counter !== undefined || nowMs - previous.atMs < this.windowMs);
    if (!repeated) this.last.set(device, { key, atMs: nowMs });
    return repeated;
  }

  forget(device: string): void {
    this.last.delete(device);
  }
}
