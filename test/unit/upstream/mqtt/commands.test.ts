import { describe, expect, it } from 'vitest';
import { formatResultPayload, parseCommandMessage } from '../../../../src/upstream/mqtt/commands.js';

const NOW = Date.UTC(2025, 0, 1);
const options = {
  commandsTopic: 'fg/gw/commands',
  maxBytes: 512,
  now: NOW,
  route: 'cloud',
  newId: () => 'generated',
};
const parse = (topic: string, body: unknown): ReturnType<typeof parseCommandMessage> =>
  parseCommandMessage(topic, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), options);

describe('parseCommandMessage', () => {
  it.each([
    {
      case: 'device in the body',
      topic: 'fg/gw/commands',
      body: { id: 'c1', device: 'sim:sw-1', name: 'on', args: { level: 3 } },
      expected: { id: 'c1', device: 'sim:sw-1', name: 'on', args: { level: 3 } },
    },
    {
      case: 'device in the topic, no id, no args',
      topic: 'fg/gw/commands/sim:sw-1',
      body: { name: 'toggle' },
      expected: { id: 'generated', device: 'sim:sw-1', name: 'toggle', args: {} },
    },
    {
      case: 'ISO expiresAt',
      topic: 'fg/gw/commands/sim:sw-1',
      body: { name: 'on', expiresAt: '2025-01-01T00:01:00Z' },
      expected: { expiresAt: NOW + 60_000 },
    },
    {
      case: 'epoch-ms expiresAt',
      topic: 'fg/gw/commands/sim:sw-1',
      body: { name: 'on', expiresAt: NOW + 5 },
      expected: { expiresAt: NOW + 5 },
    },
    {
      case: 'ttlMs from the time of receipt',
      topic: 'fg/gw/commands/sim:sw-1',
      body: { name: 'on', ttlMs: 30_000 },
      expected: { expiresAt: NOW + 30_000 },
    },
    {
      case: 'the earlier of expiresAt and ttlMs',
      topic: 'fg/gw/commands/sim:sw-1',
      body: { name: 'on', ttlMs: 30_000, expiresAt: NOW + 1000 },
      expected: { expiresAt: NOW + 1000 },
    },
  ])('accepts a command with $case', ({ topic, body, expected }) => {
    const incoming = parse(topic, body);
    expect(incoming.kind).toBe('command');
    if (incoming.kind !== 'command') return;
    expect(incoming.command).toMatchObject({ ...expected, origin: 'mqtt', route: 'cloud', receivedAt: NOW });
  });

  it.each([
    {
      case: 'malformed JSON',
      topic: 'fg/gw/commands/d',
      body: '{"name":',
      reason: /not valid JSON/,
      id: 'generated',
    },
    { case: 'a JSON array', topic: 'fg/gw/commands/d', body: '[1]', reason: /JSON object/, id: 'generated' },
    { case: 'no name', topic: 'fg/gw/commands/d', body: { id: 'c2' }, reason: /"name"/, id: 'c2' },
    {
      case: 'args not an object',
      topic: 'fg/gw/commands/d',
      body: { id: 'c3', name: 'on', args: [1] },
      reason: /"args"/,
      id: 'c3',
    },
    {
      case: 'no device anywhere',
      topic: 'fg/gw/commands',
      body: { id: 'c4', name: 'on' },
      reason: /no device/,
      id: 'c4',
    },
    {
      case: 'devices that disagree',
      topic: 'fg/gw/commands/a',
      body: { name: 'on', device: 'b' },
      reason: /differ/,
      id: 'generated',
    },
    {
      case: 'a bad expiresAt',
      topic: 'fg/gw/commands/d',
      body: { name: 'on', expiresAt: 'soon' },
      reason: /expiresAt/,
      id: 'generated',
    },
    {
      case: 'a negative ttlMs',
      topic: 'fg/gw/commands/d',
      body: { name: 'on', ttlMs: -1 },
      reason: /ttlMs/,
      id: 'generated',
    },
    {
      case: 'a non-string id',
      topic: 'fg/gw/commands/d',
      body: { id: 5, name: 'on' },
      reason: /"id"/,
      id: 'generated',
    },
    {
      case: 'an oversized payload',
      topic: 'fg/gw/commands/d',
      body: { name: 'on', args: { pad: 'x'.repeat(600) } },
      reason: /limit is 512/,
      id: 'generated',
    },
  ])('answers $case with an invalid command that still has an id', ({ topic, body, reason, id }) => {
    const incoming = parse(topic, body);
    expect(incoming).toMatchObject({ kind: 'invalid', id });
    if (incoming.kind === 'invalid') expect(incoming.reason).toMatch(reason);
  });

  it('keeps the device from the topic on an invalid command, so its result can name it', () => {
    expect(parse('fg/gw/commands/sim:sw-1', 'garbage')).toMatchObject({
      kind: 'invalid',
      device: 'sim:sw-1',
    });
  });
});

describe('formatResultPayload', () => {
  it('writes id, device, status, detail, data and ts', () => {
    const payload = formatResultPayload(
      { id: 'c1', device: 'sim:sw-1' },
      { id: 'c1', status: 'failed', detail: 'timeout' },
      NOW,
    );
    expect(JSON.parse(payload.toString())).toEqual({
      id: 'c1',
      device: 'sim:sw-1',
      status: 'failed',
      detail: 'timeout',
      ts: NOW,
    });
  });
});
