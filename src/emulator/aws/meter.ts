import { billedUnits } from '../../upstream/aws/billing.js';

/** Metering counters of the emulated account (cloud-protocols.md B6, B7.7), for cost assertions. */
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
}

export class Meter {
  readonly #reading: MeterReading = {
    inboundMessages: 0,
    outboundMessages: 0,
    messagingUnits: 0,
    httpsMessages: 0,
    refusedPublishes: 0,
  };

  inbound(topic: string, payloadBytes: number, via: 'mqtt' | 'https'): void {
    this.#reading.inboundMessages += 1;
    if (via === 'https') this.#reading.httpsMessages += 1;
    this.#reading.messagingUnits += billedUnits(topic, payloadBytes);
  }

  outbound(topic: string, payloadBytes: number): void {
    this.#reading.outboundMessages += 1;
    this.#reading.messagingUnits += billedUnits(topic, payloadBytes);
  }

  refused(): void {
    this.#reading.refusedPublishes += 1;
  }

  read(): MeterReading {
    return { ...this.#reading };
  }
}
