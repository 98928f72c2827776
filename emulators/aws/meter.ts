import {
  billedUnits,
  CONNECT_UNITS,
  PUBACK_UNITS,
  shadowUnits,
  subscribeUnits,
} from '../../src/upstream/aws/protocol/billing.js';

/** Where the 5 KB messaging units came from. */
export interface MessagingUnitsBy {
  /** PUBLISHes received from devices, MQTT and HTTPS (Basic Ingest is free). */
  publishIn: number;
  /** PUBLISHes the service sent to devices, shadow and Jobs answers included. */
  publishOut: number;
  /** PUBACKs received from devices (MQTT 3.1.1: one unit each). */
  puback: number;
  /** SUBSCRIBE packets, by the bytes of their filters. */
  subscribe: number;
  /** Accepted CONNECTs (no will: one unit each). */
  connect: number;
  /** Inbound publishes with the RETAIN flag, metered once more. */
  retained: number;
}

/**
 * Metering counters of the emulated account, metered as IoT Core bills
 * (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering), for cost assertions.
 */
export interface MeterReading {
  /** Device PUBLISHes accepted by the broker (Basic Ingest included). */
  inboundMessages: number;
  /** Messages delivered to device subscribers. */
  outboundMessages: number;
  /** 5 KB messaging units of everything billed: the sum of `messagingUnitsBy`. */
  messagingUnits: number;
  messagingUnitsBy: MessagingUnitsBy;
  /** HTTPS publishes accepted. */
  httpsMessages: number;
  /** Publishes the broker refused for breaking a limit or policy. */
  refusedPublishes: number;
  /** Publishes discarded silently for breaking a connection's 100/s, both directions (not billed). */
  discardedPublishes: number;
  /** Device Shadow operations served (update, get, delete), over MQTT and the data-plane API. */
  shadowOperations: number;
  /** Their cost in 1 KB shadow metering units. */
  shadowUnits: number;
  /** Accepted MQTT connections. */
  connects: number;
  /** Connectivity, metered per connection in one-minute increments (open connections count so far). */
  connectionMinutes: number;
}

export class Meter {
  readonly #now: () => number;
  readonly #reading: Omit<MeterReading, 'messagingUnits' | 'connectionMinutes'> = {
    inboundMessages: 0,
    outboundMessages: 0,
    messagingUnitsBy: { publishIn: 0, publishOut: 0, puback: 0, subscribe: 0, connect: 0, retained: 0 },
    httpsMessages: 0,
    refusedPublishes: 0,
    discardedPublishes: 0,
    shadowOperations: 0,
    shadowUnits: 0,
    connects: 0,
  };
  /** Minutes of connections that ended. */
  #closedMinutes = 0;
  /** When each open connection (by client id) started. */
  readonly #openSince = new Map<string, number>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  inbound(topic: string, payloadBytes: number, via: 'mqtt' | 'https'): void {
    this.#reading.inboundMessages += 1;
    if (via === 'https') this.#reading.httpsMessages += 1;
    this.#reading.messagingUnitsBy.publishIn += billedUnits(topic, payloadBytes);
  }

  outbound(topic: string, payloadBytes: number): void {
    this.#reading.outboundMessages += 1;
    this.#reading.messagingUnitsBy.publishOut += billedUnits(topic, payloadBytes);
  }

  retained(topic: string, payloadBytes: number): void {
    this.#reading.messagingUnitsBy.retained += billedUnits(topic, payloadBytes);
  }

  pubackFromDevice(): void {
    this.#reading.messagingUnitsBy.puback += PUBACK_UNITS;
  }

  subscribe(filters: readonly string[]): void {
    this.#reading.messagingUnitsBy.subscribe += subscribeUnits(filters);
  }

  connected(clientId: string): void {
    this.#reading.connects += 1;
    this.#reading.messagingUnitsBy.connect += CONNECT_UNITS;
    this.disconnected(clientId);
    this.#openSince.set(clientId, this.#now());
  }

  disconnected(clientId: string): void {
    const since = this.#openSince.get(clientId);
    if (since === undefined) return;
    this.#openSince.delete(clientId);
    this.#closedMinutes += minutesOf(this.#now() - since);
  }

  /** One shadow operation whose request carried `payloadBytes`; each starts at one unit. */
  shadowOperation(payloadBytes: number): void {
    this.#reading.shadowOperations += 1;
    this.#reading.shadowUnits += shadowUnits(payloadBytes);
  }

  refused(): void {
    this.#reading.refusedPublishes += 1;
  }

  discarded(): void {
    this.#reading.discardedPublishes += 1;
  }

  read(): MeterReading {
    const by = { ...this.#reading.messagingUnitsBy };
    const now = this.#now();
    let open = 0;
    for (const since of this.#openSince.values()) open += minutesOf(now - since);
    return {
      ...this.#reading,
      messagingUnitsBy: by,
      messagingUnits: Object.values(by).reduce((sum, units) => sum + units, 0),
      connectionMinutes: this.#closedMinutes + open,
    };
  }
}

/** A connection is metered in whole minutes, at least one. */
function minutesOf(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}
