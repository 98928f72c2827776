import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { TwinChannel, TwinSections } from '../gateway-twin.js';

const RESPONSE = /^\$iothub\/twin\/res\/(\d+)\/\?\$rid=([^&]+)/;
const DESIRED = /^\$iothub\/twin\/PATCH\/properties\/desired\//;

/**
 * The device twin over IoT Hub's MQTT topics on one connected client
 * (docs/clouds/azure-iot-hub.md#mqtt-topics): requests carry a
 * `$rid` the response echoes with its status; a desired patch arrives on its own topic. The connector
 * feeds every incoming message to `handle` first.
 */
export class MqttTwinChannel implements TwinChannel {
  readonly #client: MqttClient;
  readonly #timeoutMs: number;
  readonly #onDesired: (patch: Record<string, unknown>) => void;
  readonly #waiting = new Map<string, (reply: { status: number; body: Buffer }) => void>();

  constructor(client: MqttClient, timeoutMs: number, onDesired: (patch: Record<string, unknown>) => void) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#onDesired = onDesired;
  }

  /** Takes a twin response or desired patch; false for any other topic. */
  handle(topic: string, payload: Buffer): boolean {
    const response = RESPONSE.exec(topic);
    if (response !== null) {
      this.#waiting.get(response[2]!)?.({ status: Number(response[1]), body: payload });
      this.#waiting.delete(response[2]!);
      return true;
    }
    if (!DESIRED.test(topic)) return false;
    const patch = parseObject(payload);
    if (patch !== undefined) this.#onDesired(patch);
    return true;
  }

  async get(): Promise<TwinSections> {
    // The Node SDK sends one space: some brokers drop empty publishes.
    const body = await this.#request('$iothub/twin/GET/', Buffer.from(' '), 200);
    const twin = parseObject(body);
    return {
      desired: parseObject(twin?.desired) ?? {},
      reported: parseObject(twin?.reported) ?? {},
    };
  }

  async patchReported(patch: Record<string, unknown>): Promise<void> {
    await this.#request('$iothub/twin/PATCH/properties/reported/', Buffer.from(JSON.stringify(patch)), 204);
  }

  async #request(topic: string, body: Buffer, expected: number): Promise<Buffer> {
    const rid = randomUUID();
    const reply = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(rid);
        reject(new Error(`no twin response in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiting.set(rid, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.#client.publish(`${topic}?$rid=${rid}`, body, { qos: 0 }, () => undefined);
    const { status, body: answer } = await reply;
    if (status !== expected) throw new Error(`twin request answered ${status}: ${answer.toString('utf8')}`);
    return answer;
  }
}

/** A JSON object from a buffer or a parsed value; undefined for anything else. */
function parseObject(value: unknown): Record<string, unknown> | undefined {
  let parsed = value;
  if (Buffer.isBuffer(value)) {
    try {
      parsed = JSON.parse(value.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}
