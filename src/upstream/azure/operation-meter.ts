import type { TwinChannel } from './gateway-twin.js';
import { billedUnits } from './protocol/limits.js';

/**
 * IoT Hub's billable operations, by the short names `Upstream.stats()` uses; `d2c` here is D2C sent
 * outside the telemetry path (command results over MQTT).
 */
export type AzureOperation = 'd2c' | 'c2d' | 'twinRead' | 'twinUpdate' | 'method';

/**
 * Counts what IoT Hub bills a connection for besides D2C, in its 4 KB units
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing): a C2D message by its size, a twin read by
 * the twin's size, a reported patch by its size, a direct method by its request and, separately, its
 * response. Pure counters; a connector calls it where the traffic passes.
 */
export class AzureOperationMeter {
  readonly operations: Record<AzureOperation, number> = {
    d2c: 0,
    c2d: 0,
    twinRead: 0,
    twinUpdate: 0,
    method: 0,
  };
  units = 0;

  /** One operation of `kind` whose payloads (each billed at least one unit) were `sizesBytes`. */
  count(kind: AzureOperation, ...sizesBytes: number[]): void {
    this.operations[kind] += 1;
    this.addUnits(...sizesBytes);
  }

  /** Units of an operation already counted (a method's response). */
  addUnits(...sizesBytes: number[]): void {
    for (const size of sizesBytes) this.units += billedUnits(size);
  }
}

/** `channel` with every twin read and reported patch it carries counted on `meter`. */
export function meteredTwinChannel(channel: TwinChannel, meter: AzureOperationMeter): TwinChannel {
  return {
    get: async () => {
      const twin = await channel.get();
      meter.count('twinRead', Buffer.byteLength(JSON.stringify(twin)));
      return twin;
    },
    patchReported: async (patch) => {
      await channel.patchReported(patch);
      meter.count('twinUpdate', Buffer.byteLength(JSON.stringify(patch)));
    },
  };
}
