/**
 * Detects a scan that has silently stopped delivering advertisements (a known noble failure on Raspberry
 * Pi controllers: the scan stays "enabled" but no reports arrive). Each advertisement calls `touch`; a
 * periodic `check` fires `onStall` when none arrived for `stallMs`, then waits another full `stallMs`
 * before it can fire again, so a restart has time to take effect.
 *
 * In a place with no BLE devices at all this restarts an idle scan every `stallMs`, which is harmless.
 */
export class ScanWatchdog {
  private lastAdvertMs: number;

  constructor(
    private readonly stallMs: number,
    startMs: number,
    private readonly onStall: (silentMs: number) => void,
  ) {
    this.lastAdvertMs = startMs;
  }

  touch(nowMs: number): void {
    this.lastAdvertMs = nowMs;
  }

  check(nowMs: number): void {
    const silentMs = nowMs - this.lastAdvertMs;
    if (silentMs < this.stallMs) return;
    this.lastAdvertMs = nowMs;
    this.onStall(silentMs);
  }
}
