import net from 'node:net';
import { SerialAPIParser, ZWaveSerialFrameType, type ZWaveSerialFrame } from '@zwave-js/serial';
import { createAndOpenMockedZWaveSerialPort } from '@zwave-js/serial/mock';
import { MockController, MockNode, type MockNodeBehavior, type MockNodeOptions } from '@zwave-js/testing';
import { createDefaultMockControllerBehaviors, createDefaultMockNodeBehaviors } from 'zwave-js/Testing';

/**
 * A Z-Wave USB stick with no radio: `@zwave-js/testing`'s MockController and MockNodes served over a
 * loopback TCP socket, so the adapter opens it exactly as it opens a ser2net stick (`tcp://host:port`).
 * This is the lowest seam: the real zwave-js Driver speaks the real Serial API to it.
 *
 * The TCP byte stream is re-framed with zwave-js's own SerialAPIParser before it reaches the mock
 * controller, which expects one complete frame per write (TCP merges and splits writes).
 */
export class MockStick {
  private readonly server: net.Server;
  private socket: net.Socket | undefined;
  /** Connections so far; a reconnect after `dropConnection()` makes it grow. */
  connections = 0;

  private constructor(
    readonly controller: MockController,
    private readonly writeToController: (data: Uint8Array) => Promise<void>,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Creates the mock controller (home id `homeId`) and starts listening on 127.0.0.1, port 0. */
  static async start(options: { homeId?: number } = {}): Promise<MockStick> {
    const { port: mockPort, serial } = await createAndOpenMockedZWaveSerialPort();
    const controller = await MockController.create({
      homeId: options.homeId ?? 0x7e570001,
      ownNodeId: 1,
      mockPort,
      serial,
    });
    controller.defineBehavior(...createDefaultMockControllerBehaviors());
    const stick = new MockStick(controller, (data) =>
      serial.writeAsync(data as Parameters<typeof serial.writeAsync>[0]),
    );
    // Mock controller → host: complete frames, forwarded as they are.
    void serial.readable
      .pipeTo(
        new WritableStream({
          write: (frame) => {
            if (frame.type !== ZWaveSerialFrameType.SerialAPI) return;
            stick.socket?.write(typeof frame.data === 'number' ? Uint8Array.from([frame.data]) : frame.data);
          },
        }),
      )
      .catch(() => undefined);
    await new Promise<void>((resolve) => stick.server.listen(0, '127.0.0.1', resolve));
    return stick;
  }

  /** The serial path the adapter is configured with. */
  get url(): string {
    const address = this.server.address() as net.AddressInfo;
    return `tcp://127.0.0.1:${address.port}`;
  }

  /**
   * Adds a node that is already part of the network, with zwave-js's default CC behaviours and then
   * `behaviors`, which take precedence (`defineBehavior` puts later calls first).
   */
  async addNode(
    options: Omit<MockNodeOptions, 'controller'>,
    behaviors: MockNodeBehavior[] = [],
  ): Promise<MockNode> {
    const node = await MockNode.create({ ...options, controller: this.controller });
    this.controller.addNode(node);
    node.defineBehavior(...createDefaultMockNodeBehaviors());
    node.defineBehavior(...behaviors);
    return node;
  }

  /** Cuts the current connection, as when a ser2net link drops or a stick is unplugged. */
  dropConnection(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Stops accepting connections until `resume()`; existing ones are dropped. */
  async pause(): Promise<void> {
    this.dropConnection();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port after `pause()`. */
  async resume(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    this.dropConnection();
    this.controller.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    if (this.socket !== undefined) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    this.connections += 1;
    const parser = new SerialAPIParser();
    const parserInput = parser.writable.getWriter();
    void parser.readable
      .pipeTo(
        new WritableStream<ZWaveSerialFrame>({
          write: async (frame) => {
            if (frame.type !== ZWaveSerialFrameType.SerialAPI) return;
            await this.writeToController(
              typeof frame.data === 'number' ? Uint8Array.from([frame.data]) : frame.data,
            );
          },
        }),
      )
      .catch(() => undefined);
    socket.on('data', (chunk) => void parserInput.write(chunk).catch(() => undefined));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      void parserInput.abort().catch(() => undefined);
    });
  }
}
