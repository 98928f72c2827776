import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import rhea, { type Connection, type Delivery, type EventContext, type Sender } from 'rhea';
import { afterEach, describe, expect, it } from 'vitest';
import { settleAlone } from '../../../../../src/upstream/azure/protocol/amqp-settle.js';
import { waitFor } from '../../../../fakes/wait-for.js';

/** How a raw rhea peer saw each of its deliveries settled, in the order it sent them. */
async function peerSending(count: number): Promise<{ server: Server; port: number; seen: () => string[] }> {
  const container = rhea.create_container({ id: 'peer' });
  const outcomes = new Map<Delivery, string>();
  const sent: Delivery[] = [];
  container.on('sendable', (c: EventContext) => {
    const sender: Sender = c.sender!;
    while (sent.length < count && sender.sendable()) sent.push(sender.send({ body: `m-${sent.length + 1}` }));
  });
  for (const name of ['accepted', 'rejected', 'released', 'modified'] as const) {
    container.on(name, (c: EventContext) => void outcomes.set(c.delivery!, name));
  }
  const server = container.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    seen: () => sent.map((d) => outcomes.get(d) ?? 'unsettled'),
  };
}

describe('settleAlone against a raw rhea peer', () => {
  let server: Server | undefined;
  let connection: Connection | undefined;
  afterEach(() => {
    connection?.close();
    server?.close();
  });

  it('ok / refused / ok / refused / release / modified settled in one tick: the peer sees each outcome', async () => {
    const outcomes = ['accept', 'reject', 'accept', 'reject', 'release', 'modified'] as const;
    const peer = await peerSending(outcomes.length);
    server = peer.server;
    connection = rhea.create_container().connect({ host: '127.0.0.1', port: peer.port, reconnect: false });
    connection.on('error', () => undefined);
    const received: Delivery[] = [];
    const receiver = connection.open_receiver({ source: { address: 'q' }, autoaccept: false });
    receiver.on('message', (c: EventContext) => void received.push(c.delivery!));
    await waitFor(() => received.length === outcomes.length, 'every message from the peer');

    outcomes.forEach((outcome, i) =>
      settleAlone(received[i]!, (d) => {
        if (outcome === 'accept') d.accept();
        else if (outcome === 'reject') d.reject({ condition: 'amqp:precondition-failed' });
        else if (outcome === 'release') d.release();
        else d.modified({ delivery_failed: true });
      }),
    );
    await waitFor(() => !peer.seen().includes('unsettled'), 'the peer to see every disposition');
    expect(peer.seen()).toEqual(['accepted', 'rejected', 'accepted', 'rejected', 'released', 'modified']);
  });
});
