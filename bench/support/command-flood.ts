import net from 'node:net';

/** What each flood message carries. */
export type FloodPayload =
  /** A well-formed command for a device the gateway does not know: each one wants a `rejected` result. */
  | 'unknownDevice'
  /** Bytes that are not JSON. */
  | 'garbage';

export interface FloodOptions {
  port: number;
  topic: string;
  /** Messages per second offered; the achieved rate is reported (the broker may push back). */
  ratePerS: number;
  durationMs: number;
  payload?: FloodPayload;
  /** 0 (default) or 1: QoS 1 messages are acknowledged by the broker, but never waited for. */
  qos?: 0 | 1;
}

export interface FloodResult {
  sent: number;
  elapsedMs: number;
}

/** MQTT variable byte integer (Remaining Length), MQTT 3.1.1 §2.2.3. */
function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** One MQTT 3.1.1 PUBLISH packet, encoded by hand: the flood must cost the sender far less than the gateway. */
export function publishPacket(topic: string, payload: Buffer, qos: 0 | 1, packetId = 1): Buffer {
  const topicBytes = Buffer.from(topic);
  const id = qos === 0 ? Buffer.alloc(0) : Buffer.from([packetId >> 8, packetId & 0xff]);
  const length = 2 + topicBytes.length + id.length + payload.length;
  const header = Buffer.concat([Buffer.from([0x30 | (qos << 1)]), varint(length)]);
  const topicLength = Buffer.from([topicBytes.length >> 8, topicBytes.length & 0xff]);
  return Buffer.concat([header, topicLength, topicBytes, id, payload]);
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

/** Opens a raw MQTT 3.1.1 connection (clean session) and resolves once the broker accepted it. */
export async function rawMqttConnection(port: number, clientId: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => socket.write(connectPacket(clientId)));
    socket.once('data', (chunk: Buffer) => {
      // CONNACK: 0x20 0x02 <flags> <return code>
      if (chunk[0] === 0x20 && chunk[3] === 0) resolve();
      else reject(new Error(`the broker refused the connection (${chunk.toString('hex')})`));
    });
  });
  socket.on('data', () => undefined); // PUBACKs: read and ignored
  socket.on('error', () => undefined);
  return socket;
}

/**
 * Publish `ratePerS` messages per second on `topic` for `durationMs`, in 10 ms slices over one raw TCP
 * connection. When the socket pushes back the slice waits for `drain`, so `sent` may fall short of the
 * offered rate: report it rather than the offered one.
 */
export async function floodCommands(options: FloodOptions): Promise<FloodResult> {
  const qos = options.qos ?? 0;
  const socket = await rawMqttConnection(options.port, `flood-${process.pid}-${Date.now()}`);
  const start = Date.now();
  let sent = 0;
  try {
    for (;;) {
      const elapsed = Date.now() - start;
      if (elapsed >= options.durationMs) break;
      const due = Math.floor((options.ratePerS * elapsed) / 1000) - sent;
      const packets: Buffer[] = [];
      for (let i = 0; i < due; i++) {
        const n = sent + i;
        const payload =
          options.payload === 'garbage'
            ? Buffer.from(`garbage ${n} \u0000\u00ff not json`)
            : Buffer.from(`{"id":"flood-${n}","device":"sim:nope-${n % 100}","name":"on"}`);
        packets.push(publishPacket(options.topic, payload, qos, (n % 65_535) + 1));
      }
      sent += due;
      if (packets.length > 0 && !socket.write(Buffer.concat(packets))) {
        await new Promise((resolve) => socket.once('drain', resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    socket.destroy();
  }
  return { sent, elapsedMs: Date.now() - start };
}
