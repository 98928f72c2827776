/**
 * The baseline's publisher process (`node dist/bench/bridge-publisher.js <port> <devices>`): the sim fleet
 * at full speed, one reading per QoS 1 message on `tele/<device>`, as many in flight as a gateway's
 * adapters would keep. Runs until killed.
 */
import mqtt from 'mqtt';
import { buildFleet } from '../adapters/sim/fleet.js';

/** Publishes awaiting PUBACK at once: enough to keep a loopback broker busy. */
const IN_FLIGHT = 1000;

const port = Number(process.argv[2]);
const devices = Number(process.argv[3]);
const { reporters } = buildFleet(
  'sim',
  {
    fleet: { climate: devices, switch: 0, contact: 0, sleepy: 0 },
    reportIntervalMs: 0,
    jitterMs: 0,
    wakeIntervalMs: 0,
    awakeMs: 0,
    batchSize: 1,
  },
  1,
);
const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-publisher-${port}` });
let gseq = 0;
let next = 0;

async function publishForever(): Promise<void> {
  for (;;) {
    const device = reporters[next]!;
    next = (next + 1) % reporters.length;
    const reading = device.reading(Date.now(), device.sample() ?? {});
    gseq++;
    await client.publishAsync(`tele/${reading.device}`, JSON.stringify({ gseq, ...reading }), { qos: 1 });
  }
}

process.once('SIGTERM', () => process.exit(0));
await Promise.all(Array.from({ length: IN_FLIGHT }, publishForever));
