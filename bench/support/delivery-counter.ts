import mqtt, { type MqttClient } from 'mqtt';
import { decodeBatch, type WireReading } from '../../src/upstream/common/batch-payload.js';

/** How the cloud side reads a message: a fieldgate batch, or one reading as JSON (the bridge baseline). */
export type PayloadKind = 'batch' | 'single';

export interface DeliveryCounterOptions {
  port: number;
  topic: string;
  payload: PayloadKind;
}

/** Per device: the highest `seq` seen and how many distinct readings arrived. */
interface DeviceTally {
  maxSeq: number;
  distinct: number;
}

/**
 * The cloud-side consumer of every benchmark: subscribes at QoS 1, decodes every message, and checks
 * gateway sequence numbers (`gseq`, the reading's identity) and per-device `seq` for loss and duplicates.
 * It can also keep each reading's age on arrival (receipt time minus the reading's `ts`; same clock, same
 * machine).
 */
export class DeliveryCounter {
  /** Distinct readings received. */
  distinct = 0;
  duplicates = 0;
  /** Payload bytes of every message received, as encoded on the wire. */
  payloadBytes = 0;
  /** Readings in those messages, duplicates included. */
  received = 0;
  #seen = new Uint8Array(1 << 20);
  #maxGseq = 0;
  readonly #devices = new Map<string, DeviceTally>();
  #ages: number[] | undefined;
  #ageFilter: (reading: WireReading) => boolean = () => true;

  private constructor(private readonly client: MqttClient) {}

  static async connect(options: DeliveryCounterOptions): Promise<DeliveryCounter> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${options.port}`, {
      clientId: `bench-counter-${process.pid}-${Date.now()}`,
      reconnectPeriod: 200,
    });
    const counter = new DeliveryCounter(client);
    client.on('message', (_topic, payload) => {
      counter.payloadBytes += payload.length;
      const readings =
        options.payload === 'batch'
          ? decodeBatch(payload).readings
          : [JSON.parse(payload.toString('utf8')) as WireReading];
      counter.record(readings, Date.now());
    });
    await client.subscribeAsync(options.topic, { qos: 1 });
    return counter;
  }

  /** Start keeping the arrival age of readings that pass `filter` (all, by default). */
  keepAges(filter: (reading: WireReading) => boolean = () => true): void {
    this.#ages = [];
    this.#ageFilter = filter;
  }

  /** Ages in ms collected since `keepAges`, and stop collecting. */
  takeAges(): number[] {
    const ages = this.#ages ?? [];
    this.#ages = undefined;
    return ages;
  }

  record(readings: readonly WireReading[], receivedAt: number): void {
    this.received += readings.length;
    for (const reading of readings) {
      if (this.#isSeen(reading.gseq)) {
        this.duplicates++;
        continue;
      }
      this.distinct++;
      const tally = this.#devices.get(reading.device) ?? { maxSeq: 0, distinct: 0 };
      tally.distinct++;
      tally.maxSeq = Math.max(tally.maxSeq, reading.seq ?? 0);
      this.#devices.set(reading.device, tally);
      if (this.#ages !== undefined && this.#ageFilter(reading)) this.#ages.push(receivedAt - reading.ts);
    }
  }

  /** Distinct readings among gateway sequence numbers 1..`upTo`. */
  countUpTo(upTo: number): number {
    let count = 0;
    for (let gseq = 1; gseq <= Math.min(upTo, this.#maxGseq); gseq++) count += this.#seen[gseq]!;
    return count;
  }

  /**
   * Gateway sequence numbers missing below the highest one received, and per-device `seq` gaps. With FIFO
   * delivery both are losses; with `liveFirst` a gap can still be in flight.
   */
  losses(): { gseqGaps: number; deviceSeqGaps: number } {
    const gseqGaps = this.#maxGseq - this.countUpTo(this.#maxGseq);
    let deviceSeqGaps = 0;
    for (const tally of this.#devices.values()) deviceSeqGaps += tally.maxSeq - tally.distinct;
    return { gseqGaps, deviceSeqGaps };
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  #isSeen(gseq: number): boolean {
    if (gseq >= this.#seen.length) {
      const grown = new Uint8Array(Math.max(gseq + 1, this.#seen.length * 2));
      grown.set(this.#seen);
      this.#seen = grown;
    }
    if (this.#seen[gseq] === 1) return true;
    this.#seen[gseq] = 1;
    this.#maxGseq = Math.max(this.#maxGseq, gseq);
    return false;
  }
}
