import mqttPacket, { type Packet, type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PublishSizeGuard } from '../../../../src/upstream/inbound/publish-size-guard.js';

const LIMIT = 1024;

function encode(packet: Record<string, unknown>, protocolVersion = 4): Buffer {
  return mqttPacket.generate(packet as unknown as Packet, { protocolVersion });
}

const publish = (topic: string, payload: Buffer, qos: 0 | 1, messageId?: number) =>
  encode({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, messageId });

/** Feed `bytes` in chunks of `size`, and parse what the guard lets through as the MQTT client would. */
function pass(guard: PublishSizeGuard, bytes: Buffer, size: number, protocolVersion = 4) {
  const parser = mqttPacket.parser({ protocolVersion });
  const packets: Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p: Packet) => packets.push(p));
  parser.on('error', (e: Error) => errors.push(e));
  let largestOut = 0;
  for (let offset = 0; offset < bytes.length; offset += size) {
    for (const piece of guard.push(bytes.subarray(offset, offset + size))) {
      largestOut = Math.max(largestOut, piece.length);
      parser.parse(piece);
    }
  }
  return { packets, errors, largestOut };
}

const stream = Buffer.concat([
  encode({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
  publish('cmd/a', Buffer.from('{"small":1}'), 1, 10),
  publish('cmd/huge', Buffer.alloc(200_000, 0x41), 1, 11),
  encode({ cmd: 'pingresp' }),
  publish('cmd/b', Buffer.alloc(LIMIT, 0x42), 0),
  publish('cmd/huge0', Buffer.alloc(LIMIT + 1, 0x43), 0),
  encode({ cmd: 'puback', messageId: 5 }),
]);

describe('PublishSizeGuard', () => {
  // Chunk sizes from one byte (every header split) to larger than the whole stream.
  it.each([1, 2, 3, 7, 100, 1500, 65_536, 1_000_000])(
    'passes small packets unchanged and replaces oversize payloads, in chunks of %i bytes',
    (size) => {
      const guard = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
      const { packets, errors } = pass(guard, stream, size);
      expect(errors).toEqual([]);
      expect(packets.map((p) => p.cmd)).toEqual([
        'connack',
        'publish',
        'publish',
        'pingresp',
        'publish',
        'publish',
        'puback',
      ]);
      const publishes = packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
      expect(publishes.map((p) => [p.topic, p.qos, p.messageId])).toEqual([
        ['cmd/a', 1, 10],
        ['cmd/huge', 1, 11],
        ['cmd/b', 0, undefined],
        ['cmd/huge0', 0, undefined],
      ]);
      const payloads = publishes.map((p) => Buffer.from(p.payload));
      expect(payloads[0]!.toString()).toBe('{"small":1}');
      expect(guard.oversizeOf(payloads[0]!)).toBeUndefined();
      expect(guard.oversizeOf(payloads[1]!)).toBe(200_000);
      expect(payloads[2]!.length).toBe(LIMIT);
      expect(guard.oversizeOf(payloads[3]!)).toBe(LIMIT + 1);
      expect(guard.oversizeCount).toBe(2);
    },
  );

  it('never hands on more than a small piece of an oversize payload', () => {
    const guard = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
    const huge = publish('cmd/huge', Buffer.alloc(5_000_000, 0x41), 1, 3);
    const { largestOut, packets } = pass(guard, huge, 65_536);
    expect(largestOut).toBeLessThan(200);
    expect(packets).toHaveLength(1);
  });

  it('lets a payload under the limit through even when a long topic makes the packet large', () => {
    const guard = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
    const topic = `cmd/${'t'.repeat(5000)}`;
    const { packets } = pass(guard, publish(topic, Buffer.from('{"x":1}'), 1, 4), 100);
    const p = packets[0] as IPublishPacket;
    expect([p.topic, Buffer.from(p.payload).toString()]).toEqual([topic, '{"x":1}']);
    expect(guard.oversizeCount).toBe(0);
  });

  it('does not take a payload the broker sent for its stand-in (the token is random per guard)', () => {
    const one = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
    const other = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
    const { packets } = pass(one, publish('cmd/x', Buffer.alloc(LIMIT * 2), 0), 512);
    const standIn = Buffer.from((packets[0] as IPublishPacket).payload);
    expect(one.oversizeOf(standIn)).toBe(LIMIT * 2);
    expect(other.oversizeOf(standIn)).toBeUndefined();
  });

  it('writes a valid MQTT 5 stand-in (empty properties)', () => {
    const guard = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 5 });
    const packet = encode(
      {
        cmd: 'publish',
        topic: 'cmd/v5',
        payload: Buffer.alloc(LIMIT * 3),
        qos: 1,
        messageId: 9,
        retain: false,
        dup: false,
        properties: { contentType: 'application/json' },
      },
      5,
    );
    const { packets, errors } = pass(guard, Buffer.concat([packet, encode({ cmd: 'pingresp' }, 5)]), 64, 5);
    expect(errors).toEqual([]);
    expect(packets.map((p) => p.cmd)).toEqual(['publish', 'pingresp']);
    const p = packets[0] as IPublishPacket;
    expect([p.topic, p.messageId]).toEqual(['cmd/v5', 9]);
    expect(guard.oversizeOf(Buffer.from(p.payload))).toBeGreaterThan(LIMIT * 3);
  });

  it('starts afresh after reset (a new connection)', () => {
    const guard = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
    guard.push(publish('cmd/huge', Buffer.alloc(LIMIT * 4), 1, 1).subarray(0, 100));
    guard.reset();
    const { packets } = pass(guard, publish('cmd/a', Buffer.from('{}'), 0), 3);
    expect((packets[0] as IPublishPacket).topic).toBe('cmd/a');
  });

  describe('with a screen (commands refused before they are parsed)', () => {
    const flood = Buffer.concat([
      encode({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
      publish('cmd/x', Buffer.from('{"n":1}'), 0),
      publish('cmd/x', Buffer.from('{"n":2}'), 1, 7),
      publish('other/t', Buffer.from('{"n":3}'), 1, 8),
      encode({ cmd: 'publish', topic: 'cmd/x', payload: Buffer.from('{"n":4}'), qos: 2, messageId: 9 }),
      publish('cmd/x', Buffer.from('{"n":5}'), 1, 300),
      encode({ cmd: 'pingresp' }),
    ]);

    it.each([1, 2, 5, 64, 1_000_000])(
      'drops refused QoS 0/1 publishes unparsed, acknowledges the QoS 1 ones, passes the rest (chunks of %i)',
      (size) => {
        const guard = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
        const seen: string[] = [];
        guard.setScreen((topic) => {
          seen.push(topic);
          return topic === 'cmd/x';
        });
        const { packets, errors } = pass(guard, flood, size);
        expect(errors).toEqual([]);
        // The client sees only what was not dropped; QoS 2 is never screened (its handshake is the client's).
        expect(packets.map((p) => (p.cmd === 'publish' ? `${p.topic}:${p.qos}` : p.cmd))).toEqual([
          'connack',
          'other/t:1',
          'cmd/x:2',
          'pingresp',
        ]);
        expect(seen).toEqual(['cmd/x', 'cmd/x', 'other/t', 'cmd/x']);
        expect(guard.droppedCount).toBe(3);
        const replies = mqttPacket.parser({ protocolVersion: 4 });
        const acks: number[] = [];
        replies.on('packet', (p: Packet) => acks.push(p.cmd === 'puback' ? p.messageId! : -1));
        for (const reply of guard.takeReplies()) replies.parse(reply);
        expect(acks).toEqual([7, 300]);
        expect(guard.takeReplies()).toEqual([]);
      },
    );

    it('passes admitted publishes unchanged', () => {
      const guard = new PublishSizeGuard({ maxPayloadBytes: LIMIT, protocolVersion: 4 });
      guard.setScreen(() => false);
      const { packets } = pass(guard, flood, 3);
      const publishes = packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
      expect(publishes.map((p) => [p.topic, p.messageId, Buffer.from(p.payload).toString()])).toEqual([
        ['cmd/x', undefined, '{"n":1}'],
        ['cmd/x', 7, '{"n":2}'],
        ['other/t', 8, '{"n":3}'],
        ['cmd/x', 9, '{"n":4}'],
        ['cmd/x', 300, '{"n":5}'],
      ]);
    });
  });
});
