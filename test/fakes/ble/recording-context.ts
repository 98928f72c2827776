import { RecordingContext as BaseRecordingContext } from '../recording-context.js';

/**
 * The recording `AdapterContext` for the BLE adapter. Its clock is the real one plus `skewMs`, which a
 * test raises to make time pass for availability without waiting.
 */
export class RecordingContext extends BaseRecordingContext {
  skewMs = 0;

  constructor(name = 'ble', stateDir = '/nonexistent/ble-state') {
    super(name, stateDir);
  }

  override now(): number {
    return Date.now() + this.skewMs;
  }
}
