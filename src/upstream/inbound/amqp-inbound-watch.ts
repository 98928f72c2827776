import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { FieldgateError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { AmqpFrameGuard, type AmqpInboundViolation } from './amqp-frame-guard.js';
import { MAX_INBOUND_PAYLOAD_BYTES } from './inbound-limits.js';

/**
 * The max-frame-size fieldgate announces in AMQP `open`. IoT Hub's C2D messages are at most 64 KB, so
 * most fit one frame; larger messages (up to {@link MAX_INBOUND_PAYLOAD_BYTES}) span several. See
 * docs/inbound-limits.md.
 */
export const AMQP_MAX_FRAME_BYTES = 64 * 1024;

/** rhea's `connect` option: called as `connect(port, host, options, onConnected)`, returns the socket it reads. */
export type RheaConnectFn = (
  port: number,
  host: string,
  options: tls.ConnectionOptions,
  onConnected: () => void,
) => Duplex;

/**
 * Bounds what one connector's AMQP peer can make rhea buffer. rhea reads a frame's size and waits for
 * that many bytes, and joins a delivery's transfer frames into one message, whatever their size; it does
 * not enforce the limits it announces. {@link connectFn} gives rhea a socket whose inbound bytes pass an
 * {@link AmqpFrameGuard}: a frame over {@link AMQP_MAX_FRAME_BYTES} or a message over
 * {@link MAX_INBOUND_PAYLOAD_BYTES} cuts the connection (an AMQP framing error), which the connector
 * sees as a lost connection and the forwarder reconnects as usual.
 *
 * Cut connections are counted; the first of an episode is logged as a WARN, the others at DEBUG, until a
 * connection ends without a violation (INFO: the episode is over).
 */
export class AmqpInboundWatch {
  readonly #log: Logger;
  /** Connections cut for breaking a limit, since start. */
  cutConnections = 0;
  #episodeCuts = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** rhea's `connect` option for `transport`: opens the socket as rhea would, and guards what it reads. */
  connectFn(transport: 'tcp' | 'tls'): RheaConnectFn {
    return (port, host, options, onConnected) => {
      const inner =
        transport === 'tls'
          ? tls.connect(port, host, options, onConnected)
          : net.connect({ port, host }, onConnected);
      const guard = new AmqpFrameGuard({
        maxFrameBytes: AMQP_MAX_FRAME_BYTES,
        maxMessageBytes: MAX_INBOUND_PAYLOAD_BYTES,
      });
      return guardAmqpSocket(inner, guard, {
        onViolation: (violation) => this.#onViolation(violation),
        onCleanClose: () => this.#onCleanClose(),
      });
    };
  }

  #onViolation(violation: AmqpInboundViolation): void {
    this.cutConnections += 1;
    this.#episodeCuts += 1;
    if (this.#episodeCuts === 1) {
      this.#log.warn(
        { violation },
        'The AMQP peer sent more than the limits we announced; cutting the connection (it is reopened as usual).',
      );
    } else {
      this.#log.debug({ violation }, 'Cut another AMQP connection for input over its limits.');
    }
  }

  #onCleanClose(): void {
    if (this.#episodeCuts === 0) return;
    this.#log.info(
      { cutConnections: this.#episodeCuts },
      `AMQP input back within limits after ${this.#episodeCuts} cut connections.`,
    );
    this.#episodeCuts = 0;
  }
}

/**
 * `inner` with its inbound bytes checked by `guard`: rhea reads the returned stream and writes to it.
 * Bytes are handed on unchanged; on a violation, the chunk that broke the limit is not handed on, the
 * socket is destroyed and rhea gets an `FG_UPSTREAM_OFFLINE` error. Backpressure holds both ways.
 */
export function guardAmqpSocket(
  inner: net.Socket,
  guard: AmqpFrameGuard,
  hooks: { onViolation: (v: AmqpInboundViolation) => void; onCleanClose: () => void },
): Duplex {
  let isViolated = false;
  const outer = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      inner.write(chunk, callback);
    },
    final(callback) {
      inner.end(callback);
    },
    read() {
      if (!isViolated) inner.resume();
    },
    destroy(error, callback) {
      inner.destroy();
      callback(error);
    },
  });
  // rhea turns on Nagle's opt-out when it attaches a receiver.
  Object.assign(outer, { setNoDelay: (noDelay?: boolean) => inner.setNoDelay(noDelay) });
  inner.on('data', (chunk: Buffer) => {
    if (isViolated) return;
    const violation = guard.push(chunk);
    if (violation === undefined) {
      if (!outer.push(chunk)) inner.pause();
      return;
    }
    isViolated = true;
    inner.pause();
    hooks.onViolation(violation);
    outer.destroy(
      new FieldgateError(
        'FG_UPSTREAM_OFFLINE',
        `The AMQP peer broke an inbound limit (${describe(violation)}).`,
        {
          context: { violation },
        },
      ),
    );
  });
  inner.once('end', () => outer.push(null));
  inner.on('error', (e: Error) => outer.destroy(e));
  inner.once('close', () => {
    if (!isViolated) hooks.onCleanClose();
    outer.destroy();
  });
  return outer;
}

function describe(violation: AmqpInboundViolation): string {
  switch (violation.kind) {
    case 'frameTooLarge':
      return `a ${violation.frameBytes}-byte frame; max-frame-size is ${violation.limit}`;
    case 'messageTooLarge':
      return `a message of over ${violation.messageBytes} bytes; the limit is ${violation.limit}`;
    case 'malformed':
      return `malformed frame: ${violation.detail}`;
  }
}
