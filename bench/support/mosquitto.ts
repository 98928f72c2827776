import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { waitUntil } from './wait.js';

export interface MosquittoOptions {
  /** A private directory for the config file and the persistence database. */
  dir: string;
  /** Snapshot the broker's state to `dir` (Mosquitto's `persistence`). */
  persistence: boolean;
  /** Bridge `tele/#` at QoS 1 to the broker on this port (the Mosquitto-as-field-gateway baseline). */
  bridgeToPort?: number;
}

/** A port that was free a moment ago on 127.0.0.1 (also used as a port where nothing listens). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A real Mosquitto on loopback. Limits that would make the baseline drop or stall messages are lifted
 * (unbounded queues, 1,000 in flight), so the bridge is measured at its best rather than as configured out
 * of the box.
 */
export class Mosquitto {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  static async start(options: MosquittoOptions): Promise<Mosquitto> {
    await mkdir(options.dir, { recursive: true });
    const port = await freePort();
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `persistence ${options.persistence}`,
      `persistence_location ${options.dir}/`,
      'max_queued_messages 0',
      'max_inflight_messages 1000',
      'log_dest none',
    ];
    if (options.bridgeToPort !== undefined) {
      lines.push(
        'connection upstream',
        `address 127.0.0.1:${options.bridgeToPort}`,
        'topic tele/# out 1',
        'cleansession false',
        `remote_clientid bench-bridge-${port}`,
        'bridge_protocol_version mqttv311',
      );
    }
    const configFile = path.join(options.dir, 'mosquitto.conf');
    await writeFile(configFile, lines.join('\n') + '\n');
    const child = spawn('mosquitto', ['-c', configFile], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitUntil(
      () => canConnect(port),
      `mosquitto on port ${port}`,
      10_000,
      () => (child.exitCode !== null ? `mosquitto exited with ${child.exitCode}` : undefined),
    );
    return new Mosquitto(port, child, exited);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}
