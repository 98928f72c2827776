import type { OnPacketCallback } from 'mqtt';
import { billedUnits, CONNECT_UNITS, PUBACK_UNITS, subscribeUnits } from './protocol/billing.js';

type Packet = Parameters<OnPacketCallback>[0];

/** What `AwsUpstream.stats()` reports about what IoT Core bills, cumulative since start. */
export interface AwsUsage {
  /**
   * 5 KB messaging units as IoT Core meters them (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering):
   * publishes both ways, our PUBACKs on MQTT 3.1.1, SUBSCRIBEs and CONNECTs; Basic Ingest is free.
   */
  billedUnits: number;
  /**
   * Operations by kind: `publishOut`, `publishIn`, `puback` (ours, billed on MQTT 3.1.1), `subscribe`,
   * `connect`, and `shadow` (Device Shadow operations IoT Core accepted, metered apart in 1 KB units).
   */
  operations: Record<'publishOut' | 'publishIn' | 'puback' | 'subscribe' | 'connect' | 'shadow', number>;
}

/**
 * Counts what one AWS route's connection costs, from the packets it sends and receives. A publish is
 * counted when it goes on the wire (IoT Core bills a resend again); telemetry over HTTPS is counted by
 * the sender, per request body.
 */
export class UsageMeter {
  readonly #usage: AwsUsage = {
    billedUnits: 0,
    operations: { publishOut: 0, publishIn: 0, puback: 0, subscribe: 0, connect: 0, shadow: 0 },
  };

  /** A packet mqtt.js wrote. */
  sent(packet: Packet): void {
    if (packet.cmd === 'publish') {
      this.publishOut(packet.topic, Buffer.byteLength(packet.payload));
    } else if (packet.cmd === 'puback') {
      this.#add('puback', PUBACK_UNITS);
    } else if (packet.cmd === 'subscribe') {
      this.#add('subscribe', subscribeUnits(packet.subscriptions.map((s) => s.topic)));
    }
    // CONNECT is counted once the connection is up; PINGREQ, DISCONNECT, UNSUBSCRIBE are free.
  }

  /** A packet mqtt.js read. */
  received(packet: Packet): void {
    if (packet.cmd === 'publish') {
      this.#add('publishIn', billedUnits(packet.topic, Buffer.byteLength(packet.payload)));
    }
  }

  /** One publish of ours, by whatever transport (HTTPS publishes count here too). */
  publishOut(topic: string, payloadBytes: number): void {
    this.#add('publishOut', billedUnits(topic, payloadBytes));
  }

  connected(): void {
    this.#add('connect', CONNECT_UNITS);
  }

  /** A Device Shadow request of ours that IoT Core accepted. */
  shadowAccepted(): void {
    this.#usage.operations.shadow += 1;
  }

  read(): AwsUsage {
    return { billedUnits: this.#usage.billedUnits, operations: { ...this.#usage.operations } };
  }

  #add(kind: keyof AwsUsage['operations'], units: number): void {
    this.#usage.operations[kind] += 1;
    this.#usage.billedUnits += units;
  }
}
