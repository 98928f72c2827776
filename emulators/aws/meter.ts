import { billedUnits } from '../../src/upstream/aws/protocol/billing.js';

/**
 * Metering counters of the emulated account (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering), for
 * cost assertions.
 */
export interface MeterReading {
  /** Device PUBLISHes accepted by the broker (Basic Ingest included). */
  inboundMessages: number;
  /** Messages delivered to device subscribers. */
  outboundMessages: number;
  /** 5 KB messaging units, inbound and outbound; Basic Ingest is free. */
  messagingUnits: number;
  /** HTTPS publishes accepted. */
  httpsMessages: number;
  /** Publishes the broker refused for breaking a limit or policy. */
  refusedPublishes: number;
  /** Device Shadow operations served (update, get, delete). */
  shadowOperations: number;
  /** Their cost in 1 KB shadow metering units (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering). */
  shadowUnits: number;
}

/**
 * Device Shadow operations are metered in 1 KB units
 * (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering).
 */
const SHADOW_UNIT_BYTES = 1024;
/**
 * Shadow request and response topics: metered as shadow operations, not as 5 KB messages
 * (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering).
 */
const SHADOW_TOPIC = /^\$aws\/things\/[^/]+\/shadow(\/|$)/;

export class Meter {
  readonly #reading: MeterReading = {
    inboundMessages: 0,
    outboundMessages: 0,
    messagingUnits: 0,
    httpsMessages: 0,
    refusedPublishes: 0,
    shadowOperations: 0,
    shadowUnits: 0,
  };

  inbound(topic: string, payloadBytes: number, via: 'mqtt' | 'https'): void {
    this.#reading.inboundMessages += 1;
    if (via === 'https') this.#reading.httpsMessages += 1;
    if (SHADOW_TOPIC.test(topic)) return;
    this.#reading.messagingUnits += billedUnits(topic, payloadBytes);
  }

  outbound(topic: string, payloadBytes: number): void {
    this.#reading.outboundMessages += 1;
    if (SHADOW_TOPIC.test(topic)) return;
    this.#reading.messagingUnits += billedUnits(topic, payloadBytes);
  }

  /** One shadow operation whose request carried `payloadBytes`; each starts at one unit. */
  shadowOperation(payloadBytes: number): void {
    this.#reading.shadowOperations += 1;
    this.#reading.shadowUnits += Math.max(1, Math.ceil(payloadBytes / SHADOW_UNIT_BYTES));
  }

  refused(): void {
    this.#reading.refusedPublishes += 1;
  }

  read(): MeterReading {
    return { ...this.#reading };
  }
}
