import mqtt, { type MqttClient } from 'mqtt';
import { decodeBatch } from '../../../src/upstream/common/batch-payload.js';

export interface ReceivedReading {
  gseq: number;
  device: string;
  ts: number;
  values: Record<string, unknown>;
  seq?: number;
}

/** A cloud-side consumer: subscribes to the gateway's telemetry and results topics and decodes every batch. */
export class Subscriber {
  readings: ReceivedReading[] = [];
  results: { id: string; status: string; device?: string; detail?: string }[] = [];

  private constructor(readonly client: MqttClient) {}

  static async connect(port: number, gateway = 'it'): Promise<Subscriber> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 200,
      clientId: `sub-${Math.random()}`,
    });
    const sub = new Subscriber(client);
    client.on('message', (topic, payload) => {
      if (topic === `fieldgate/${gateway}/telemetry`) {
        sub.readings.push(...(decodeBatch(payload).readings as ReceivedReading[]));
      } else if (topic === `fieldgate/${gateway}/results`) {
        sub.results.push(JSON.parse(payload.toString()) as Subscriber['results'][number]);
      }
    });
    await client.subscribeAsync([`fieldgate/${gateway}/telemetry`, `fieldgate/${gateway}/results`], {
      qos: 1,
    });
    return sub;
  }

  async publishCommand(gateway: string, body: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync(`fieldgate/${gateway}/commands`, JSON.stringify(body), { qos: 1 });
  }

  /** Distinct gateway sequence numbers received. */
  gseqs(): Set<number> {
    return new Set(this.readings.map((r) => r.gseq));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** The gaps in 1..max of a set of sequence numbers: anything listed here was lost. */
export function missing(seqs: Set<number>): number[] {
  // A loop, not `Math.max(...seqs)`: spreading a few hundred thousand arguments overflows the stack.
  let max = 0;
  for (const s of seqs) if (s > max) max = s;
  const gaps: number[] = [];
  for (let s = 1; s <= max; s++) if (!seqs.has(s)) gaps.push(s);
  return gaps;
}
