import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { within } from '../../../../src/upstream/common/exchange-guard.js';

function connectedClient(): MqttClient & EventEmitter {
  return Object.assign(new EventEmitter(), { connected: true }) as unknown as MqttClient & EventEmitter;
}

const never = new Promise<void>(() => undefined);

describe('within (one exchange with a deadline)', () => {
  it('is undefined when the work succeeds, and leaves no listener behind', async () => {
    const client = connectedClient();
    await expect(within(client, new AbortController().signal, 60_000, Promise.resolve())).resolves.toBe(
      undefined,
    );
    expect(client.listenerCount('close')).toBe(0);
  });

  it('is the work’s message when it fails', async () => {
    const failing = Promise.reject(new Error('PUBACK reason 135'));
    await expect(within(connectedClient(), new AbortController().signal, 60_000, failing)).resolves.toBe(
      'PUBACK reason 135',
    );
  });

  it('is "connection lost" when the connection closes first', async () => {
    const client = connectedClient();
    const waiting = within(client, new AbortController().signal, 60_000, never);
    client.emit('close');
    await expect(waiting).resolves.toBe('connection lost');
  });

  it('is "connection lost" at once on a client that is not connected', async () => {
    const client = Object.assign(connectedClient(), { connected: false });
    await expect(within(client, new AbortController().signal, 60_000, never)).resolves.toBe(
      'connection lost',
    );
  });

  it('is "aborted" when the signal aborts, and "timeout" when nothing settles in time', async () => {
    const controller = new AbortController();
    const aborted = within(connectedClient(), controller.signal, 60_000, never);
    controller.abort();
    await expect(aborted).resolves.toBe('aborted');
    await expect(within(connectedClient(), new AbortController().signal, 1, never)).resolves.toBe('timeout');
  });
});
