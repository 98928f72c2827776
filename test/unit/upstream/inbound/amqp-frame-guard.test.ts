import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  AmqpFrameGuard,
  type AmqpInboundViolation,
} from '../../../../src/upstream/inbound/amqp-frame-guard.js';

// rhea's own frame encoder (the library the connector reads with): frames as a real peer writes them.
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as {
  write_frame(frame: unknown): Buffer;
  amqp_frame(channel: number, performative: unknown, payload?: Buffer): unknown;
  sasl_frame(performative: unknown): unknown;
  [name: string]: unknown;
};
const performative = (name: string, fields: Record<string, unknown>): unknown =>
  (frames[name] as (f: Record<string, unknown>) => { described(): unknown })(fields).described();

const MAX_FRAME = 64 * 1024;
const MAX_MESSAGE = 256 * 1024;
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);
const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);

const frame = (channel: number, name: string, fields: Record<string, unknown>, payload?: Buffer): Buffer =>
  frames.write_frame(frames.amqp_frame(channel, performative(name, fields), payload));

/** One transfer frame of link `handle` on `channel`, carrying `bytes` message bytes. */
const transfer = (
  channel: number,
  handle: number,
  deliveryId: number | undefined,
  bytes: number,
  more: boolean,
): Buffer =>
  frame(
    channel,
    'transfer',
    {
      handle,
      ...(deliveryId === undefined
        ? {}
        : { delivery_id: deliveryId, delivery_tag: Buffer.from(`t${deliveryId}`) }),
      message_format: 0,
      settled: false,
      more,
    },
    Buffer.alloc(bytes, 0x61),
  );

/** A message of `total` bytes split as a peer splits it at max-frame-size. */
function delivery(channel: number, handle: number, deliveryId: number, total: number): Buffer[] {
  const per = MAX_FRAME - 100;
  const out: Buffer[] = [];
  for (let sent = 0; sent < total; sent += per) {
    const size = Math.min(per, total - sent);
    out.push(transfer(channel, handle, sent === 0 ? deliveryId : undefined, size, sent + size < total));
  }
  return out;
}

const heartbeat = Buffer.from([0, 0, 0, 8, 2, 0, 0, 0]);

function feed(bytes: Buffer, chunkSize: number): { violation: AmqpInboundViolation | undefined; at: number } {
  const guard = new AmqpFrameGuard({ maxFrameBytes: MAX_FRAME, maxMessageBytes: MAX_MESSAGE });
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    const violation = guard.push(bytes.subarray(offset, offset + chunkSize));
    if (violation !== undefined) return { violation, at: Math.min(offset + chunkSize, bytes.length) };
  }
  return { violation: undefined, at: bytes.length };
}

const CHUNKS = [1, 3, 7, 100, 1500, 65_536, 1 << 20];

describe('AmqpFrameGuard', () => {
  const opening = Buffer.concat([
    AMQP_HEADER,
    frame(0, 'open', { container_id: 'hub', max_frame_size: MAX_FRAME }),
    frame(0, 'begin', { remote_channel: 0, next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }),
    frame(0, 'attach', { name: 'c2d', handle: 0, role: false }),
  ]);

  it.each(CHUNKS)('lets a session within the limits through (chunks of %i bytes)', (size) => {
    const bytes = Buffer.concat([
      opening,
      transfer(0, 0, 0, 1000, false),
      heartbeat,
      // 250 KiB in four frames: a message just under the limit.
      ...delivery(0, 0, 1, 250 * 1024),
      // Two links each mid-delivery at once: counted apart, 2 × 200 KiB is not one message.
      ...interleave(delivery(0, 1, 0, 200 * 1024), delivery(1, 1, 0, 200 * 1024)),
      transfer(0, 0, 2, 0, false),
      frame(0, 'detach', { handle: 0, closed: true }),
    ]);
    expect(feed(bytes, size).violation).toBeUndefined();
  });

  it('accepts the protocol header again after SASL', () => {
    const bytes = Buffer.concat([
      SASL_HEADER,
      frames.write_frame(
        frames.sasl_frame(performative('sasl_mechanisms', { sasl_server_mechanisms: ['ANONYMOUS'] })),
      ),
      frames.write_frame(frames.sasl_frame(performative('sasl_outcome', { code: 0 }))),
      opening,
    ]);
    expect(feed(bytes, 5).violation).toBeUndefined();
  });

  it.each(CHUNKS)(
    'refuses a frame over max-frame-size from its header alone (chunks of %i bytes)',
    (size) => {
      const huge = Buffer.alloc(8);
      huge.writeUInt32BE(64 * 2 ** 20, 0);
      huge[4] = 2;
      const bytes = Buffer.concat([opening, huge, Buffer.alloc(2 * 2 ** 20)]);
      const { violation, at } = feed(bytes, size);
      expect(violation).toEqual({ kind: 'frameTooLarge', frameBytes: 64 * 2 ** 20, limit: MAX_FRAME });
      // Reported no later than the chunk that completed the header.
      expect(at).toBeLessThanOrEqual(opening.length + 8 + size);
    },
  );

  it.each(CHUNKS)(
    'refuses a message whose transfer frames add up past the limit (chunks of %i bytes)',
    (size) => {
      const parts = delivery(0, 0, 5, 10 * MAX_MESSAGE);
      const bytes = Buffer.concat([opening, ...parts]);
      const { violation, at } = feed(bytes, size);
      expect(violation).toMatchObject({ kind: 'messageTooLarge', limit: MAX_MESSAGE });
      // Noticed at the frame that crosses the limit, not at the end of the 2.5 MiB message.
      expect(at).toBeLessThan(opening.length + MAX_MESSAGE + 2 * MAX_FRAME + size);
    },
  );

  it('starts counting afresh when a new delivery id follows an unfinished delivery', () => {
    const aborted = delivery(0, 0, 1, 200 * 1024).slice(0, -1);
    const bytes = Buffer.concat([opening, ...aborted, ...delivery(0, 0, 2, 200 * 1024)]);
    expect(feed(bytes, 1500).violation).toBeUndefined();
  });

  it('counts a transfer named by its symbolic descriptor', () => {
    // amqp:transfer:list with list8 [handle 0, delivery-id 0, tag "t", format 0, settled false, more true]
    const symbol = Buffer.from('amqp:transfer:list', 'latin1');
    const fields = Buffer.from([0x43, 0x43, 0xa0, 1, 0x74, 0x43, 0x42, 0x41]);
    const perf = Buffer.concat([
      Buffer.from([0x00, 0xa3, symbol.length]),
      symbol,
      Buffer.from([0xc0, fields.length + 1, 6]),
      fields,
    ]);
    const one = (payload: number): Buffer => {
      const body = Buffer.concat([perf, Buffer.alloc(payload)]);
      const header = Buffer.from([0, 0, 0, 0, 2, 0, 0, 0]);
      header.writeUInt32BE(8 + body.length, 0);
      return Buffer.concat([header, body]);
    };
    const bytes = Buffer.concat([opening, ...Array.from({ length: 5 }, () => one(60_000))]);
    expect(feed(bytes, 7).violation).toMatchObject({ kind: 'messageTooLarge' });
  });

  it('refuses a frame shorter than its own header', () => {
    expect(feed(Buffer.concat([opening, Buffer.from([0, 0, 0, 4, 2, 0, 0, 0])]), 3).violation).toMatchObject({
      kind: 'malformed',
    });
  });

  it('starts over after reset', () => {
    const guard = new AmqpFrameGuard({ maxFrameBytes: MAX_FRAME, maxMessageBytes: MAX_MESSAGE });
    expect(
      guard.push(Buffer.concat([opening, Buffer.from([0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0])])),
    ).toMatchObject({
      kind: 'frameTooLarge',
    });
    guard.reset();
    expect(guard.push(opening)).toBeUndefined();
  });
});

function interleave(a: Buffer[], b: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x !== undefined) out.push(x);
    if (y !== undefined) out.push(y);
  }
  return out;
}
