import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { FieldgateError, isFieldgateError } from '../../../../src/errors.js';
import { waitForConnack } from '../../../../src/upstream/common/connack.js';

/** The events mqtt.js emits while connecting, without a socket. */
function fakeClient(): MqttClient & EventEmitter {
  return new EventEmitter() as MqttClient & EventEmitter;
}

describe('waitForConnack (MQTT, Azure and AWS connectors)', () => {
  it.each([true, false])('resolves with the session-present flag %s', async (sessionPresent) => {
    const client = fakeClient();
    const waiting = waitForConnack(client, new AbortController().signal);
    client.emit('connect', { cmd: 'connack', sessionPresent, returnCode: 0 });
    await expect(waiting).resolves.toBe(sessionPresent);
    expect(client.listenerCount('close')).toBe(0);
  });

  it('classifies a refused CONNACK (5, not authorized) as FG_UPSTREAM_AUTH', async () => {
    const client = fakeClient();
    const waiting = waitForConnack(client, new AbortController().signal);
    client.emit('error', Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }));
    const error: unknown = await waiting.catch((e: unknown) => e);
    expect(isFieldgateError(error, 'FG_UPSTREAM_AUTH')).toBe(true);
  });

  it('hands a close before CONNACK to the caller’s classifier (AWS: not authorized)', async () => {
    const client = fakeClient();
    const seen: unknown[] = [];
    const waiting = waitForConnack(client, new AbortController().signal, (e) => {
      seen.push(e);
      return new FieldgateError('FG_UPSTREAM_AUTH', 'refused by policy');
    });
    client.emit('close');
    await expect(waiting).rejects.toThrow('refused by policy');
    expect(String(seen[0])).toContain('connection closed before CONNACK');
  });

  it('rejects with FG_UPSTREAM_OFFLINE (aborted) when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error: unknown = await waitForConnack(fakeClient(), controller.signal).catch((e: unknown) => e);
    expect(isFieldgateError(error, 'FG_UPSTREAM_OFFLINE')).toBe(true);
    expect((error as FieldgateError).context).toEqual({ reason: 'aborted' });
  });
});
