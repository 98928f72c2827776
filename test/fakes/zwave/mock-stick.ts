import net from 'node:net';
import { SerialAPIParser, ZWaveSerialFrameType, type ZWaveSerialFrame } from '@zwave-js/serial';
import { createAndOpenMockedZWaveSerialPort } from '@zwave-js/serial/mock';
import { dskFromString, nwiHomeIdFromDSK } from '@zwave-js/core';
import {
  AddNodeToNetworkRequest,
  AddNodeType,
  RemoveNodeFromNetworkRequest,
  RemoveNodeFromNetworkRequestStatusReport,
  RemoveNodeStatus,
  RemoveNodeType,
} from '@zwave-js/serial/serialapi';
import {
  MockController,
  MockNode,
  type MockNodeBehavior,
  type MockNodeOptions,
  type NodePendingInclusion,
} from '@zwave-js/testing';
import { createDefaultMockControllerBehaviors, createDefaultMockNodeBehaviors } from 'zwave-js/Testing';
import { serialRequest } from './serial-frames.js';

/** `FUNC_ID_ZW_APPLICATION_UPDATE` and its "SmartStart home id received" update type (Z-Wave Host API). */
const FUNC_APPLICATION_UPDATE = 0x49;
const APPLICATION_UPDATE_SMART_START_HOME_ID = 0x85;
/** `FUNC_ID_ZW_ADD_NODE_TO_NETWORK` (Z-Wave Host API). */
const FUNC_ADD_NODE_TO_NETWORK = 0x4a;
/** Its mode `ADD_NODE_SMART_START`, in the low nibble of the first payload byte. */
const ADD_NODE_SMART_START = 0x09;

/** True for the host's "enter SmartStart listening mode" request (SOF, length, type, function, mode, …). */
export function isSmartStartListenRequest(frame: Uint8Array): boolean {
  return frame[3] === FUNC_ADD_NODE_TO_NETWORK && ((frame[4] ?? 0) & 0x0f) === ADD_NODE_SMART_START;
}

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
  /** The callback id of the host's running "remove node" request, while the controller is excluding. */
  private exclusionCallbackId: number | undefined;
  /** True between the host's "add node" start and stop requests. */
  isIncluding = false;
  /**
   * True while the host has the controller in SmartStart listening mode (`FUNC_ID_ZW_ADD_NODE_TO_NETWORK`,
   * mode `ADD_NODE_SMART_START`): it listens for SmartStart "prime" frames of not-yet-included nodes and
   * reports their NWI home id to the host, which decides whether to include them.
   */
  isSmartStartListening = false;
  /** Host frames the stick swallows without an ACK, as a hung stick does (see `stall`). */
  readonly stalledFrames: Uint8Array[] = [];
  private stallMatcher: ((frame: Uint8Array) => boolean) | undefined;

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
    // zwave-js's mock controller enters exclusion mode but has no node to exclude; remembering the request
    // lets `leaveNetwork` answer it as a real controller does when a device's button is pressed.
    controller.defineBehavior({
      onHostMessage: (_controller, msg) => {
        if (msg instanceof AddNodeToNetworkRequest) {
          const isStop = msg.addNodeType === AddNodeType.Stop;
          // SmartStart listening is not inclusion: the controller includes nobody by itself, and answers the
          // request with its ACK only (no callback; zwave-js sends callback id 0). zwave-js's mock controller
          // would enter its classic "adding" state instead, take every later start as illegal and include a
          // node pending inclusion on the spot.
          if (msg.addNodeType === AddNodeType.SmartStartListen) {
            stick.isSmartStartListening = true;
            return true;
          }
          // Any other add-mode request (a Stop, a classic or a SmartStart DSK inclusion) ends listening.
          stick.isSmartStartListening = false;
          // zwave-js sends a second Stop after each inclusion, as Silicon Labs recommends, and one to leave
          // SmartStart listening. The mock controller would take a Stop while idle as a start and stay in
          // "adding" mode; a real one ignores it.
          if (isStop && !stick.isIncluding) return true;
          stick.isIncluding = !isStop;
        }
        if (msg instanceof RemoveNodeFromNetworkRequest)
          stick.exclusionCallbackId = msg.removeNodeType === RemoveNodeType.Stop ? undefined : msg.callbackId;
        return undefined;
      },
    });
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

  /** The next inclusion the host starts finds this node, as if its button was pressed in time. */
  joinOnNextInclusion(node: NodePendingInclusion): void {
    this.controller.nodePendingInclusion = node;
  }

  /**
   * A node's button is pressed now, as a user does to pair it. A controller that is not in inclusion mode
   * does not listen for new nodes: the press is ignored, and this resolves `ignored` once the controller
   * decided so. A press while the host holds inclusion open is not modelled here (use `joinOnNextInclusion`
   * before opening the window): it throws, so a test that expected the window closed fails.
   */
  pressButton(node: NodePendingInclusion): Promise<'ignored'> {
    if (this.isIncluding) {
      return Promise.reject(
        new Error(`node ${node.id} pressed its button while the controller was including`),
      );
    }
    return Promise.resolve('ignored');
  }

  /**
   * A SmartStart device whose DSK is `dsk` is powered up in range. It sends SmartStart "prime" frames; a
   * controller in SmartStart listening mode hands each to the host as a "SmartStart home id received"
   * update carrying the NWI home id (derived from the DSK) and the node information, and the host decides
   * whether to include it (by its DSK). The mock controller then includes `node`. A controller that is not
   * listening drops the frames: this resolves `ignored` then, else `reported`.
   */
  async powerUpSmartStart(node: NodePendingInclusion, dsk: string): Promise<'reported' | 'ignored'> {
    if (!this.isSmartStartListening) return 'ignored';
    this.controller.nodePendingInclusion = node;
    const ccs = (node.capabilities?.commandClasses ?? []).map((cc) =>
      typeof cc === 'number' ? cc : cc.ccId,
    );
    // zwave-js can parse this update but not write it, so it is built here, in the layout zwave-js reads:
    // update type, source node id (0: not included yet), RX status, NWI home id (4 bytes), the length of the
    // command class list, basic / generic / specific device class, the command classes.
    const payload = [
      APPLICATION_UPDATE_SMART_START_HOME_ID,
      0,
      0,
      ...nwiHomeIdFromDSK(dskFromString(dsk)),
      ccs.length,
      node.capabilities?.basicDeviceClass ?? 0x04,
      node.capabilities?.genericDeviceClass ?? 0x10,
      node.capabilities?.specificDeviceClass ?? 0x01,
      ...ccs,
    ];
    await this.sendRawToHost(serialRequest(FUNC_APPLICATION_UPDATE, Uint8Array.from(payload)));
    return 'reported';
  }

  /** True while the host has the controller in exclusion mode. */
  get isExcluding(): boolean {
    return this.exclusionCallbackId !== undefined;
  }

  /** The device's button is pressed during exclusion: it leaves, and the controller reports so. */
  async leaveNetwork(node: MockNode): Promise<void> {
    const callbackId = this.exclusionCallbackId;
    if (callbackId === undefined) throw new Error('the controller is not in exclusion mode');
    const send = (options: ConstructorParameters<typeof RemoveNodeFromNetworkRequestStatusReport>[0]) =>
      this.controller.sendMessageToHost(new RemoveNodeFromNetworkRequestStatusReport(options));
    await send({ callbackId, status: RemoveNodeStatus.NodeFound });
    await send({ callbackId, status: RemoveNodeStatus.RemovingSlave, nodeId: node.id });
    this.controller.removeNode(node);
    await send({ callbackId, status: RemoveNodeStatus.Done });
  }

  /**
   * Writes `bytes` to the host as they are, past the mock controller: line noise, a frame cut short, a bad
   * checksum, a well-framed message with a malformed command class. Resolves once the socket took them.
   */
  async sendRawToHost(bytes: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) throw new Error('no host is connected');
    await new Promise<void>((resolve, reject) => socket.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  /**
   * From now on the stick swallows every host frame `matcher` accepts, without an ACK, as a hung stick (or
   * one unplugged while the frame was on the wire) does; they are kept in `stalledFrames`. `unstall()` ends it.
   */
  stall(matcher: (frame: Uint8Array) => boolean): void {
    this.stallMatcher = matcher;
  }

  unstall(): void {
    this.stallMatcher = undefined;
  }

  /** True while a host holds the stick's connection open. */
  get isConnected(): boolean {
    return this.socket !== undefined;
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
            if (typeof frame.data !== 'number' && this.stallMatcher?.(frame.data) === true) {
              this.stalledFrames.push(frame.data);
              return;
            }
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
