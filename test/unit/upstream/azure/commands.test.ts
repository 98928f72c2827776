import { describe, expect, it } from 'vitest';
import {
  methodStatusFor,
  parseC2dMessage,
  parseMethodRequest,
} from '../../../../src/upstream/azure/commands.js';

const options = { maxBytes: 1024, now: 1_000, route: 'cloud', newId: () => 'generated' };
const json = (body: unknown): Buffer => Buffer.from(JSON.stringify(body));

describe('C2D messages', () => {
  it('takes the id from $.mid and the deadline from $.exp', () => {
    const incoming = parseC2dMessage(
      { '$.mid': 'm-1', '$.exp': '1970-01-01T00:00:05.000Z' },
      json({ device: 'sim:switch-01', name: 'on', args: { level: 2 } }),
      options,
    );
    expect(incoming).toEqual({
      kind: 'command',
      command: {
        id: 'm-1',
        device: 'sim:switch-01',
        name: 'on',
        args: { level: 2 },
        origin: 'azure',
        route: 'cloud',
        receivedAt: 1_000,
        expiresAt: 5_000,
      },
    });
  });

  it('takes the leaf from the fieldgate-device property when the body has none', () => {
    const incoming = parseC2dMessage({ 'fieldgate-device': 'sim:switch-01' }, json({ name: 'off' }), options);
    expect(incoming).toMatchObject({
      kind: 'command',
      command: { id: 'generated', device: 'sim:switch-01' },
    });
  });

  it.each([
    ['not JSON', {}, Buffer.from('{'), 'not valid JSON'],
    ['no device', {}, json({ name: 'on' }), 'no device'],
    ['no name', {}, json({ device: 'sim:a' }), '"name"'],
    ['args not an object', {}, json({ device: 'sim:a', name: 'on', args: [1] }), '"args"'],
    ['a bad $.exp', { '$.exp': 'soon' }, json({ device: 'sim:a', name: 'on' }), '$.exp'],
    ['too large', {}, Buffer.alloc(2048, 32), 'limit is 1024'],
    ['conflicting devices', { 'fieldgate-device': 'sim:b' }, json({ device: 'sim:a', name: 'on' }), 'differ'],
  ])('answers %s with an invalid command that keeps its id', (_name, properties, payload, reason) => {
    const incoming = parseC2dMessage({ '$.mid': 'm-9', ...properties }, payload, options);
    expect(incoming.kind).toBe('invalid');
    if (incoming.kind !== 'invalid') return;
    expect(incoming.id).toBe('m-9');
    expect(incoming.reason).toContain(reason);
  });
});

describe('direct methods', () => {
  it('uses the method name as the command and expires it when the caller stops waiting', () => {
    const incoming = parseMethodRequest('identify', json({ device: 'sim:thermo-01' }), {
      ...options,
      timeoutMs: 30_000,
    });
    expect(incoming).toMatchObject({
      kind: 'command',
      command: { name: 'identify', device: 'sim:thermo-01', args: {}, expiresAt: 31_000 },
    });
  });

  it('maps each result status to a method status code', () => {
    expect(
      ['ok', 'rejected', 'unsupported', 'failed', 'expired'].map((s) => methodStatusFor(s as never)),
    ).toEqual([200, 400, 501, 500, 504]);
  });
});
