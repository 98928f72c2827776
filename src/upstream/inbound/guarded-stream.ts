import { Duplex } from 'node:stream';
import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import { FieldgateError } from '../../errors.js';
import type { PublishSizeGuard } from './publish-size-guard.js';

export { MAX_INBOUND_PAYLOAD_BYTES } from './inbound-limits.js';

/**
 * `inner` (a socket) with its inbound bytes passed through `guard`: what the MQTT client reads is the
 * guarded stream, what it writes goes to the socket unchanged. Errors, end and close of the socket are
 * those of the returned stream; destroying it destroys the socket. Backpressure holds both ways.
 */
export function guardInbound(inner: Duplex, guard: PublishSizeGuard): Duplex {
  const outer = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      inner.write(chunk, callback);
    },
    final(callback) {
      inner.end(callback);
    },
    read() {
      inner.resume();
    },
    destroy(error, callback) {
      inner.destroy(error ?? undefined);
      callback(error);
    },
  });
  inner.on('data', (chunk: Buffer) => {
    for (const piece of guard.push(chunk)) if (!outer.push(piece)) inner.pause();
    // PUBACKs for publishes the guard dropped: queued behind what the client wrote, never inside a packet.
    for (const reply of guard.takeReplies()) if (outer.writable) outer.write(reply);
  });
  inner.once('end', () => outer.push(null));
  inner.on('error', (e: Error) => outer.destroy(e));
  inner.once('close', () => outer.destroy());
  return outer;
}

/**
 * `mqtt.connect(url, options)`, with the connection's inbound bytes guarded by `guard` (reset for each
 * new socket). Throws `FG_INTERNAL` if mqtt.js no longer builds its socket where this expects.
 */
export function connectGuarded(url: string, options: IClientOptions, guard: PublishSizeGuard): MqttClient {
  const client = mqttConnect(url, { ...options, manualConnect: true });
  // mqtt.js builds the socket through its (private) stream builder; wrapping it is the one place where the
  // inbound bytes can be reached before its packet parser buffers them. Checked, not assumed.
  const internals = client as unknown as { streamBuilder?: (c: MqttClient) => Duplex };
  const build = internals.streamBuilder;
  if (typeof build !== 'function') {
    client.end(true);
    throw new FieldgateError('FG_INTERNAL', 'This mqtt.js version has no stream builder to guard.');
  }
  internals.streamBuilder = (c) => {
    guard.reset();
    return guardInbound(build(c), guard);
  };
  return client.connect();
}
