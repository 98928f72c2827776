import { describe, expect, it } from 'vitest';
import { parseCommandRequest } from '../../../../src/upstream/aws/commands.js';

const NOW = 1_700_000_000_000;
const parse = (body: unknown, maxBytes = 1024) =>
  parseCommandRequest(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), {
    device: 'sim:switch-01',
    maxBytes,
    now: NOW,
    route: 'aws',
    newId: () => 'generated',
  });

describe('parseCommandRequest', () => {
  it('reads a command with the device from the topic and the earlier of expiresAt and ttlMs', () => {
    expect(parse({ id: 'c1', name: 'on', args: { level: 2 }, expiresAt: NOW + 10_000, ttlMs: 5000 })).toEqual(
      {
        kind: 'command',
        command: {
          id: 'c1',
          device: 'sim:switch-01',
          name: 'on',
          args: { level: 2 },
          expiresAt: NOW + 5000,
          origin: 'aws',
          route: 'aws',
          receivedAt: NOW,
        },
      },
    );
  });

  it('accepts an ISO expiresAt and gives an id to a request without one', () => {
    const parsed = parse({ name: 'off', expiresAt: new Date(NOW + 1000).toISOString() });
    expect(parsed).toMatchObject({
      kind: 'command',
      command: { id: 'generated', expiresAt: NOW + 1000, args: {} },
    });
  });

  it.each([
    ['not json', 'request is not valid JSON'],
    [[1, 2], 'request must be a JSON object'],
    [{ id: 7, name: 'on' }, '"id" must be a non-empty string'],
    [{ id: 'c2' }, '"name" must be a non-empty string'],
    [{ id: 'c2', name: 'on', args: [] }, '"args" must be an object'],
    [{ id: 'c2', name: 'on', expiresAt: 'soon' }, '"expiresAt" must be epoch ms or an ISO date'],
    [{ id: 'c2', name: 'on', ttlMs: -1 }, '"ttlMs" must be a non-negative number'],
  ])('answers %j as invalid: %s', (body, reason) => {
    expect(parse(body)).toMatchObject({ kind: 'invalid', reason, device: 'sim:switch-01' });
  });

  it('refuses an oversized request without parsing it', () => {
    expect(parse({ id: 'c3', name: 'on', args: { pad: 'x'.repeat(100) } }, 50)).toMatchObject({
      kind: 'invalid',
      id: 'generated',
      reason: expect.stringMatching(/bytes; the limit is 50/) as unknown,
    });
  });
});
